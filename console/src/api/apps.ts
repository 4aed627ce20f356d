// SPDX-License-Identifier: Apache-2.0
// Apps in a project (/api/v1/projects/{project}/apps, ?environment=ENV): list, deploy/update,
// detail, scale, restart, rollback, history, environment, secret names, delete.
import { api, seg } from './client'
import type { AppDetail, AppSpecBody, AppSummary, EnvUpdate, ItemList, Revision } from './types'

/** Which project and (optionally) environment an app call is about. */
export interface Scope {
  project: string
  environment?: string
}

const base = (s: Scope): string => `/projects/${seg(s.project)}/apps`
const one = (s: Scope, app: string): string => `${base(s)}/${seg(app)}`
const q = (s: Scope) => ({ environment: s.environment })

export const listApps = async (s: Scope): Promise<AppSummary[]> =>
  (await api.get<ItemList<AppSummary>>(base(s), q(s))).items
export const deployApp = (s: Scope, body: AppSpecBody): Promise<AppDetail> => api.post<AppDetail>(base(s), body, q(s))
export const getApp = (s: Scope, app: string): Promise<AppDetail> => api.get<AppDetail>(one(s, app), q(s))
export const updateApp = (s: Scope, app: string, body: Partial<AppSpecBody>): Promise<AppDetail> =>
  api.put<AppDetail>(one(s, app), body, q(s))
export const deleteApp = (s: Scope, app: string): Promise<void> => api.del(one(s, app), q(s))
export const scaleApp = (s: Scope, app: string, replicas: number): Promise<AppDetail> =>
  api.post<AppDetail>(`${one(s, app)}/scale`, { replicas }, q(s))
export const restartApp = (s: Scope, app: string): Promise<{ restarted_at: string }> =>
  api.post<{ restarted_at: string }>(`${one(s, app)}/restart`, undefined, q(s))
export const rollbackApp = (s: Scope, app: string, revision?: number): Promise<AppDetail> =>
  api.post<AppDetail>(`${one(s, app)}/rollback`, revision === undefined ? {} : { revision }, q(s))
export const appHistory = async (s: Scope, app: string): Promise<Revision[]> =>
  (await api.get<ItemList<Revision>>(`${one(s, app)}/history`, q(s))).items
export const getAppEnv = async (s: Scope, app: string): Promise<Record<string, string>> =>
  (await api.get<{ env: Record<string, string> }>(`${one(s, app)}/env`, q(s))).env
export const setAppEnv = async (s: Scope, app: string, change: EnvUpdate): Promise<Record<string, string>> =>
  (await api.put<{ env: Record<string, string> }>(`${one(s, app)}/env`, change, q(s))).env
export const appSecretNames = async (s: Scope, app: string): Promise<string[]> =>
  (await api.get<{ names: string[] }>(`${one(s, app)}/secrets`, q(s))).names
