// SPDX-License-Identifier: Apache-2.0
// The console's API client in one import: `import { apps, ApiError } from '@/api'`.
export * as auth from './auth'
export * as meta from './meta'
export * as cluster from './cluster'
export * as projects from './projects'
export * as apps from './apps'
export * as services from './services'
export * as routes from './routes'
export * as users from './users'
export * as logs from './logs'
export { api, ApiClient } from './client'
export { ApiError, describeError } from './errors'
export type * from './types'
