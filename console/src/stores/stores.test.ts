// SPDX-License-Identifier: Apache-2.0
// Pinia stores: dark mode follows the system until toggled and remembers the choice; toasts
// expire and carry ApiError hints; the scope store picks projects and environments; the session
// follows the API client's session and restores from the refresh cookie once.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { THEME_KEY, useTheme } from './theme'
import { TOAST_MS, useToasts } from './toasts'
import { useScope } from './scope'
import { useSession } from './session'
import { api } from '../api/client'
import { ApiError } from '../api/errors'
import type { ProjectView } from '../api/types'

function mockSystemDark(dark: boolean) {
  const listeners: ((e: { matches: boolean }) => void)[] = []
  window.matchMedia = vi.fn().mockImplementation(() => ({
    matches: dark,
    addEventListener: (_: string, fn: (e: { matches: boolean }) => void) => listeners.push(fn),
  })) as unknown as typeof window.matchMedia
  return (matches: boolean) => listeners.forEach((fn) => fn({ matches }))
}

beforeEach(() => {
  setActivePinia(createPinia())
  localStorage.clear()
  delete document.documentElement.dataset.theme
})
afterEach(() => {
  api.clearSession()
  api.setFetch(undefined)
  vi.useRealTimers()
})

describe('theme store', () => {
  it('follows the system while nothing is stored', () => {
    const change = mockSystemDark(true)
    const t = useTheme()
    t.init()
    expect(t.dark).toBe(true)
    expect(document.documentElement.dataset.theme).toBe('dark')
    change(false)
    expect(document.documentElement.dataset.theme).toBe('light')
    expect(localStorage.getItem(THEME_KEY)).toBeNull()
  })

  it('toggle stores the choice, which wins over the system and survives a reload', () => {
    const change = mockSystemDark(false)
    const t = useTheme()
    t.init()
    t.toggle()
    expect(localStorage.getItem(THEME_KEY)).toBe('dark')
    expect(document.documentElement.dataset.theme).toBe('dark')
    change(false)
    expect(document.documentElement.dataset.theme).toBe('dark')

    setActivePinia(createPinia()) // a new page load
    const again = useTheme()
    again.init()
    expect(again.dark).toBe(true)
    again.toggle()
    expect(localStorage.getItem(THEME_KEY)).toBe('light')
  })

  it('ignores a stored value it does not know', () => {
    mockSystemDark(true)
    localStorage.setItem(THEME_KEY, 'purple')
    expect(useTheme().effective).toBe('dark')
  })
})

describe('toasts store', () => {
  it('shows an ApiError with its hint and removes toasts after their time', () => {
    vi.useFakeTimers()
    const t = useToasts()
    t.error('Deploy api', new ApiError(403, 'deployer role needed', 'ask an owner'))
    t.success('Saved')
    expect(t.items.map((x) => [x.kind, x.message, x.hint])).toEqual([
      ['error', 'Deploy api: deployer role needed', 'ask an owner'],
      ['success', 'Saved', null],
    ])
    vi.advanceTimersByTime(TOAST_MS.success + 1)
    expect(t.items.map((x) => x.kind)).toEqual(['error'])
    vi.advanceTimersByTime(TOAST_MS.error)
    expect(t.items).toEqual([])
  })

  it('keeps at most five and can be dismissed', () => {
    const t = useToasts()
    const ids = [1, 2, 3, 4, 5, 6].map((i) => t.info(`m${i}`))
    expect(t.items.map((x) => x.message)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6'])
    t.dismiss(ids[5])
    expect(t.items).toHaveLength(4)
  })
})

const project = (name: string, envs: string[], role: ProjectView['role'] = 'viewer'): ProjectView => ({
  name,
  role,
  environments: envs.map((e) => ({ name: e, namespace: `${name}-${e}` })),
  members: [],
  apps: 0,
  services: 0,
  ready: true,
  conditions: [],
  created_at: '2026-01-01T00:00:00Z',
})

describe('scope store', () => {
  it('loads projects, selects the first, and prefers the default environment', async () => {
    api.setFetch(async () => new Response(JSON.stringify({ items: [project('shop', ['staging', 'default'], 'owner'), project('blog', ['prod'])] })))
    const s = useScope()
    await s.load()
    expect(s.project).toBe('shop')
    expect(s.environment).toBe('default')
    expect(s.envParam).toBe('default')
    expect(s.canWrite).toBe(true)
    expect(s.isOwner).toBe(true)
    s.select('blog')
    expect(s.environment).toBe('prod')
    expect(s.envParam).toBeUndefined() // one environment: the server picks it
    expect(s.canWrite).toBe(false)
    s.select('shop', 'staging')
    expect(s.environment).toBe('staging')
  })
})

describe('session store', () => {
  it('follows login and logout through the client', async () => {
    const expires = new Date(Date.now() + 900_000).toISOString()
    api.setFetch(async (url) =>
      url.endsWith('/auth/login')
        ? new Response(JSON.stringify({ token: 't', expires_at: expires, user: { email: 'a@b.c', role: 'deployer' } }))
        : new Response(null, { status: 204 }),
    )
    const s = useSession()
    s.bind()
    await s.login(' a@b.c ', 'pw')
    expect(s.user).toEqual({ email: 'a@b.c', role: 'deployer' })
    expect(s.canDeploy).toBe(true)
    expect(s.isAdmin).toBe(false)
    await s.logout()
    expect(s.signedIn).toBe(false)
    expect(api.authenticated).toBe(false)
  })

  it('restore asks the refresh endpoint once per page load', async () => {
    const calls: string[] = []
    api.setFetch(async (url) => {
      calls.push(url)
      return new Response(JSON.stringify({ error: 'no session' }), { status: 401 })
    })
    const s = useSession()
    s.bind()
    expect(await s.restore()).toBe(false)
    expect(await s.restore()).toBe(false)
    expect(calls).toEqual(['/api/v1/auth/refresh'])
  })
})
