// SPDX-License-Identifier: Apache-2.0
// The endpoint modules build the paths, methods, bodies and query strings of API.md, and unwrap
// {items}/{env}/{names}; login stores the session, logout forgets it even on failure.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { api } from './client'
import * as apps from './apps'
import * as auth from './auth'
import * as services from './services'
import * as users from './users'
import * as projects from './projects'
import * as cluster from './cluster'
import * as routes from './routes'

type Seen = { method: string; url: string; body: unknown; auth?: string }

function serve(answer: (s: Seen) => { status?: number; body?: unknown }) {
  const seen: Seen[] = []
  api.setFetch(async (url, init = {}) => {
    const s: Seen = {
      method: init.method ?? 'GET',
      url,
      body: init.body ? JSON.parse(String(init.body)) : undefined,
      auth: (init.headers as Record<string, string>).Authorization,
    }
    seen.push(s)
    const a = answer(s)
    const status = a.status ?? 200
    return new Response(status === 204 ? null : JSON.stringify(a.body ?? {}), { status })
  })
  return seen
}

afterEach(() => {
  api.clearSession()
  api.setFetch(undefined)
})

const S = { project: 'web shop', environment: 'prod' }

describe('endpoint modules', () => {
  it('apps: list, deploy, scale, rollback, env, secrets, delete', async () => {
    const seen = serve((s) => {
      if (s.url.includes('/env')) return { body: { env: { A: '1' } } }
      if (s.url.includes('/secrets')) return { body: { names: ['DB_PASSWORD'] } }
      if (s.method === 'DELETE') return { status: 204 }
      return { body: { items: [{ name: 'api' }], name: 'api' } }
    })
    expect(await apps.listApps(S)).toEqual([{ name: 'api' }])
    await apps.deployApp(S, { name: 'api', image: 'nginx' })
    await apps.scaleApp(S, 'api', 3)
    await apps.rollbackApp(S, 'api', 2)
    await apps.rollbackApp({ project: 'p' }, 'api')
    expect(await apps.getAppEnv(S, 'api')).toEqual({ A: '1' })
    await apps.setAppEnv(S, 'api', { unset: ['A'] })
    expect(await apps.appSecretNames(S, 'api')).toEqual(['DB_PASSWORD'])
    await apps.restartApp(S, 'api')
    await apps.deleteApp(S, 'api')
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/projects/web%20shop/apps?environment=prod',
      'POST /api/v1/projects/web%20shop/apps?environment=prod',
      'POST /api/v1/projects/web%20shop/apps/api/scale?environment=prod',
      'POST /api/v1/projects/web%20shop/apps/api/rollback?environment=prod',
      'POST /api/v1/projects/p/apps/api/rollback',
      'GET /api/v1/projects/web%20shop/apps/api/env?environment=prod',
      'PUT /api/v1/projects/web%20shop/apps/api/env?environment=prod',
      'GET /api/v1/projects/web%20shop/apps/api/secrets?environment=prod',
      'POST /api/v1/projects/web%20shop/apps/api/restart?environment=prod',
      'DELETE /api/v1/projects/web%20shop/apps/api?environment=prod',
    ])
    expect(seen[1].body).toEqual({ name: 'api', image: 'nginx' })
    expect(seen[2].body).toEqual({ replicas: 3 })
    expect(seen[3].body).toEqual({ revision: 2 })
    expect(seen[4].body).toEqual({})
    expect(seen[6].body).toEqual({ unset: ['A'] })
  })

  it('services, users, projects, cluster, routes use their paths', async () => {
    const seen = serve((s) => (s.method === 'DELETE' ? { status: 204 } : { body: { items: [] } }))
    await services.listCatalog()
    await services.serviceCredentials({ project: 'p' }, 'db')
    await users.setUserRole('ann+ops@example.com', 'viewer')
    await users.resetUserPassword('ann@example.com')
    await projects.setMembers('p', [{ email: 'a@b.c', role: 'owner' }])
    await projects.deleteProject('p')
    await cluster.getDashboard()
    await routes.listRoutes()
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/v1/catalog',
      'GET /api/v1/projects/p/services/db/credentials',
      'PUT /api/v1/users/ann%2Bops%40example.com/role',
      'POST /api/v1/users/ann%40example.com/reset-password',
      'PUT /api/v1/projects/p/members',
      'DELETE /api/v1/projects/p',
      'GET /api/v1/dashboard',
      'GET /api/v1/routes',
    ])
    expect(seen[2].body).toEqual({ role: 'viewer' })
    expect(seen[4].body).toEqual({ members: [{ email: 'a@b.c', role: 'owner' }] })
  })

  it('login keeps the token for later calls; logout forgets it even when the server fails', async () => {
    const expires = new Date(Date.now() + 900_000).toISOString()
    const seen = serve((s) =>
      s.url.endsWith('/auth/login')
        ? { body: { token: 'tok', expires_at: expires, user: { email: 'a@b.c', role: 'viewer' } } }
        : s.url.endsWith('/auth/logout')
          ? { status: 500, body: { error: 'boom' } }
          : { body: { email: 'a@b.c' } },
    )
    await auth.login({ email: 'a@b.c', password: 'pw' })
    expect(seen[0].auth).toBeUndefined()
    await auth.me()
    expect(seen[1].auth).toBe('Bearer tok')
    await expect(auth.logout()).rejects.toMatchObject({ status: 500 })
    expect(api.authenticated).toBe(false)
    vi.useRealTimers()
  })
})
