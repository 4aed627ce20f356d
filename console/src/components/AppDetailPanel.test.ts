// SPDX-License-Identifier: Apache-2.0
// The real AppDetailPanel against a fake fetch and fake timers: it polls the app every 2 s while
// the app has not settled (Progressing, or fewer replicas ready than wanted) until it shows Ready,
// tells the list once it settles, then only refreshes every 5 s; it stops polling when it goes
// away; an action (scale) that leaves the app rolling out starts the quick polling again.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, h, type App } from 'vue'
import { createPinia, setActivePinia } from 'pinia'
import AppDetailPanel from './AppDetailPanel.vue'
import { api } from '../api/client'
import type { AppDetail, AppStatus } from '../api/types'

let app: App | null = null
let host: HTMLElement
let gets: number
let changed: number
let states: [AppStatus, number, number][] // status, replicas, ready_replicas of each GET in turn

const detail = (status: AppStatus, replicas: number, ready: number): AppDetail => ({
  name: 'web', namespace: 'shop', environment: 'default', image: 'nginx:1.27', replicas, ready_replicas: ready, status,
  url: null, created_at: '2026-01-01T00:00:00Z', port: 8080, env: {}, secrets: [], resources: {}, hosts: [],
  conditions: [], pods: [], revision: 1, autotune: { mode: 'off' }, events: [],
} as unknown as AppDetail)

function serve() {
  gets = 0
  api.setFetch(async (url, init = {}) => {
    const method = init.method ?? 'GET'
    if (method === 'POST' && String(url).endsWith('/scale')) {
      states = [['Progressing', 3, 1], ['Progressing', 3, 2], ['Ready', 3, 3]]
      return new Response(JSON.stringify(detail('Progressing', 3, 1)), { status: 200 })
    }
    gets++
    const [status, replicas, ready] = states.length > 1 ? states.shift()! : states[0]
    return new Response(JSON.stringify(detail(status, replicas, ready)), { status: 200 })
  })
}

async function mount() {
  host = document.createElement('div')
  document.body.append(host)
  changed = 0
  const pinia = createPinia()
  setActivePinia(pinia)
  app = createApp({
    render: () => h(AppDetailPanel, { scope: { project: 'shop' }, name: 'web', canWrite: true, onChanged: () => changed++ }),
  })
  app.use(pinia)
  app.mount(host)
  await vi.advanceTimersByTimeAsync(0)
}
const text = (id: string) => host.querySelector(`[data-testid="${id}"]`)?.textContent?.trim()

beforeEach(() => {
  vi.useFakeTimers()
  states = [['Progressing', 1, 0], ['Progressing', 1, 0], ['Ready', 1, 1]]
  serve()
})
afterEach(() => {
  app?.unmount()
  app = null
  document.body.innerHTML = ''
  api.setFetch(undefined)
  vi.useRealTimers()
})

describe('AppDetailPanel polling', () => {
  it('polls every 2 s until the app is Ready, tells the list, then refreshes only every 5 s', async () => {
    await mount()
    expect(gets).toBe(1)
    expect(text('app-detail-status')).toBe('Progressing')
    expect(text('app-replicas')).toBe('0/1 ready')
    await vi.advanceTimersByTimeAsync(1999)
    expect(gets).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(gets).toBe(2)
    expect(text('app-detail-status')).toBe('Progressing')
    expect(changed).toBe(0)
    await vi.advanceTimersByTimeAsync(2000)
    expect(gets).toBe(3)
    expect(text('app-detail-status')).toBe('Ready')
    expect(text('app-replicas')).toBe('1/1 ready')
    expect(changed).toBe(1) // the list reloads too
    await vi.advanceTimersByTimeAsync(4999)
    expect(gets).toBe(3) // settled: no quick polling
    await vi.advanceTimersByTimeAsync(1)
    expect(gets).toBe(4)
    expect(changed).toBe(1)
  })

  it('polls again every 2 s after a scale leaves the app rolling out', async () => {
    states = [['Ready', 1, 1]]
    await mount()
    expect(text('app-detail-status')).toBe('Ready')
    const input = host.querySelector('[data-testid="scale-input"]') as HTMLInputElement
    input.value = '3'
    input.dispatchEvent(new Event('input'))
    ;(input.form as HTMLFormElement).dispatchEvent(new Event('submit', { cancelable: true }))
    await vi.advanceTimersByTimeAsync(0)
    expect(gets).toBe(2) // reloaded after the scale
    expect(text('app-replicas')).toBe('1/3 ready')
    await vi.advanceTimersByTimeAsync(2000)
    expect(text('app-replicas')).toBe('2/3 ready')
    await vi.advanceTimersByTimeAsync(2000)
    expect(gets).toBe(4)
    expect(text('app-replicas')).toBe('3/3 ready')
    expect(text('app-detail-status')).toBe('Ready')
  })

  it('stops polling when the panel goes away', async () => {
    states = [['Progressing', 1, 0]]
    await mount()
    await vi.advanceTimersByTimeAsync(2000)
    expect(gets).toBe(2)
    app?.unmount()
    app = null
    await vi.advanceTimersByTimeAsync(20_000)
    expect(gets).toBe(2)
  })
})
