// SPDX-License-Identifier: Apache-2.0
// The signed-in user: login, logout, restoring the session from the refresh cookie after a reload,
// and what the user may do (admin). The token itself stays in the API client, in memory only.
import { defineStore } from 'pinia'
import * as auth from '../api/auth'
import { api } from '../api/client'
import type { LoginResponse, SessionUser } from '../api/types'

export const useSession = defineStore('session', {
  state: () => ({
    user: null as SessionUser | null,
    expiresAt: null as string | null,
    /** whether restore() has run (the router waits for it once) */
    restored: false,
  }),
  getters: {
    signedIn: (s): boolean => s.user !== null,
    isAdmin: (s): boolean => s.user?.role === 'admin',
    canDeploy: (s): boolean => s.user?.role === 'admin' || s.user?.role === 'deployer',
  },
  actions: {
    /** Keeps the user in step with the client's session (login, each refresh, loss). */
    bind(): void {
      api.onSession((s: LoginResponse | null) => {
        this.user = s ? s.user : null
        this.expiresAt = s ? s.expires_at : null
      })
    },
    async login(email: string, password: string): Promise<void> {
      await auth.login({ email: email.trim(), password })
    },
    async logout(): Promise<void> {
      try {
        await auth.logout()
      } finally {
        this.user = null
        this.expiresAt = null
      }
    },
    /** Tries the refresh cookie once per page load; true when a session came back. */
    async restore(): Promise<boolean> {
      if (this.restored) return this.signedIn
      this.restored = true
      if (api.authenticated) return true
      try {
        await auth.refresh()
        return true
      } catch {
        return false
      }
    },
    /** The session ended elsewhere (refresh refused). */
    lost(): void {
      this.user = null
      this.expiresAt = null
    },
  },
})
