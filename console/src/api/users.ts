// SPDX-License-Identifier: Apache-2.0
// Console users (admin only): list, create (the generated password comes back once), role,
// reset password (a new generated password, once), remove.
import { api, seg } from './client'
import type { GlobalRole, ItemList, UserCreate, UserCreated, UserView } from './types'

export const listUsers = async (): Promise<UserView[]> => (await api.get<ItemList<UserView>>('/users')).items
export const createUser = (body: UserCreate): Promise<UserCreated> => api.post<UserCreated>('/users', body)
export const setUserRole = (email: string, role: GlobalRole): Promise<UserView> =>
  api.put<UserView>(`/users/${seg(email)}/role`, { role })
export const resetUserPassword = (email: string): Promise<{ password: string }> =>
  api.post<{ password: string }>(`/users/${seg(email)}/reset-password`)
export const deleteUser = (email: string): Promise<void> => api.del(`/users/${seg(email)}`)
