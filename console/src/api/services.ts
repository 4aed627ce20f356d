// SPDX-License-Identifier: Apache-2.0
// The service catalog and services in a project: list, create, info, credentials (owners and
// admins only: others get a 403 ApiError; 404 until kipperd made the Secret), delete (optionally
// with its data).
import { api, seg } from './client'
import type { Scope } from './apps'
import type { CatalogEntry, ItemList, ServiceCreate, ServiceCredentials, ServiceView } from './types'

const base = (s: Scope): string => `/projects/${seg(s.project)}/services`
const one = (s: Scope, name: string): string => `${base(s)}/${seg(name)}`
const q = (s: Scope) => ({ environment: s.environment })

export const listCatalog = async (): Promise<CatalogEntry[]> => (await api.get<ItemList<CatalogEntry>>('/catalog')).items
export const listServices = async (s: Scope): Promise<ServiceView[]> =>
  (await api.get<ItemList<ServiceView>>(base(s), q(s))).items
export const createService = (s: Scope, body: ServiceCreate): Promise<ServiceView> =>
  api.post<ServiceView>(base(s), body, q(s))
export const getService = (s: Scope, name: string): Promise<ServiceView> => api.get<ServiceView>(one(s, name), q(s))
export const serviceCredentials = (s: Scope, name: string): Promise<ServiceCredentials> =>
  api.get<ServiceCredentials>(`${one(s, name)}/credentials`, q(s))
/** deleteData also deletes the volume and the credentials Secret. */
export const deleteService = (s: Scope, name: string, deleteData = false): Promise<void> =>
  api.del(one(s, name), { ...q(s), delete_data: deleteData ? 'true' : undefined })
