// SPDX-License-Identifier: Apache-2.0
// Cluster health (nodes, components, versions) and the dashboard's counts.
import { api } from './client'
import type { ClusterInfo, Dashboard } from './types'

export const getCluster = (): Promise<ClusterInfo> => api.get<ClusterInfo>('/cluster')
export const getDashboard = (): Promise<Dashboard> => api.get<Dashboard>('/dashboard')
