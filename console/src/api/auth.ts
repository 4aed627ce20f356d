// SPDX-License-Identifier: Apache-2.0
// Auth endpoints (/api/v1/auth/*): login, refresh, logout, me, password change. Login and refresh
// store the session in the shared client; logout forgets it even when the server call fails.
import { api } from './client'
import type { LoginRequest, LoginResponse, Me, PasswordChange } from './types'

export async function login(body: LoginRequest): Promise<LoginResponse> {
  const s = await api.request<LoginResponse>('POST', '/auth/login', { body, auth: false })
  api.setSession(s)
  return s
}

/** Restores a session from the refresh cookie (page reload); rejects with a 401 ApiError when there is none. */
export function refresh(): Promise<LoginResponse> {
  return api.refresh()
}

export async function logout(): Promise<void> {
  try {
    // the refresh cookie names the session: no bearer token, no refresh-and-retry
    await api.request<void>('POST', '/auth/logout', { auth: false })
  } finally {
    api.clearSession()
  }
}

export const me = (): Promise<Me> => api.get<Me>('/auth/me')

export const changePassword = (body: PasswordChange): Promise<void> =>
  api.request<void>('POST', '/auth/password', { body })
