// SPDX-License-Identifier: Apache-2.0
// Public meta endpoints: kipperd's version and the OpenAPI document.
import { api } from './client'
import type { OpenApiDocument, VersionInfo } from './types'

export const version = (): Promise<VersionInfo> => api.request<VersionInfo>('GET', '/version', { auth: false })
export const openapi = (): Promise<OpenApiDocument> => api.request<OpenApiDocument>('GET', '/openapi.json', { auth: false })
