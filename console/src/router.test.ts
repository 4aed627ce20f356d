// SPDX-License-Identifier: Apache-2.0
// The router guard: signed-out users go to Login with ?redirect=, the refresh cookie is tried
// once, non-admins are kept out of Users, and ?redirect= never leaves the site.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter, type RouteRecordRaw } from 'vue-router'
import { guard, safeRedirect } from './router'
import { api } from './api/client'
import { useSession } from './stores/session'

const Empty = { render: () => null }
const routes: RouteRecordRaw[] = [
  { path: '/login', name: 'login', component: Empty, meta: { public: true } },
  { path: '/', name: 'dashboard', component: Empty },
  { path: '/apps/:project?/:app?', name: 'apps', component: Empty },
  { path: '/users', name: 'users', component: Empty, meta: { admin: true } },
]

function router() {
  const r = createRouter({ history: createMemoryHistory(), routes })
  r.beforeEach(guard)
  return r
}

function sessionAnswer(role: string | null) {
  const calls: string[] = []
  api.setFetch(async (url) => {
    calls.push(url)
    if (role === null) return new Response(JSON.stringify({ error: 'no session' }), { status: 401 })
    const expires = new Date(Date.now() + 900_000).toISOString()
    return new Response(JSON.stringify({ token: 't', expires_at: expires, user: { email: 'a@b.c', role } }))
  })
  return calls
}

beforeEach(() => {
  setActivePinia(createPinia())
  useSession().bind()
})
afterEach(() => {
  api.clearSession()
  api.setFetch(undefined)
})

describe('router guard', () => {
  it('sends a signed-out visit to Login with the path to come back to', async () => {
    const calls = sessionAnswer(null)
    const r = router()
    await r.push('/apps/shop/web?environment=prod')
    expect(r.currentRoute.value.name).toBe('login')
    expect(r.currentRoute.value.query.redirect).toBe('/apps/shop/web?environment=prod')
    await r.push('/')
    expect(calls).toEqual(['/api/v1/auth/refresh']) // tried once per page load
  })

  it('restores the session from the refresh cookie and lets the visit through', async () => {
    sessionAnswer('viewer')
    const r = router()
    await r.push('/apps')
    expect(r.currentRoute.value.name).toBe('apps')
    expect(useSession().user?.role).toBe('viewer')
  })

  it('keeps non-admins out of Users and lets admins in', async () => {
    sessionAnswer('deployer')
    const r = router()
    await r.push('/users')
    expect(r.currentRoute.value.name).toBe('dashboard')

    setActivePinia(createPinia())
    useSession().bind()
    api.clearSession()
    sessionAnswer('admin')
    const r2 = router()
    await r2.push('/users')
    expect(r2.currentRoute.value.name).toBe('users')
  })

  it('a signed-in visit to Login goes on to the redirect', async () => {
    sessionAnswer('admin')
    const r = router()
    await r.push('/login?redirect=/apps/shop')
    expect(r.currentRoute.value.fullPath).toBe('/apps/shop')
  })

  it('safeRedirect follows only same-site paths', () => {
    expect(safeRedirect('/apps')).toBe('/apps')
    expect(safeRedirect('//evil.example.com')).toBe('/')
    expect(safeRedirect('https://evil.example.com')).toBe('/')
    expect(safeRedirect(undefined)).toBe('/')
  })
})
