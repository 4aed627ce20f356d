// SPDX-License-Identifier: Apache-2.0
// The real LogsPanel with a fake WebSocket: it connects with the token subprotocols, shows lines
// as frames arrive, holds them while paused and shows them on resume, filters by search, and
// closes the socket when it goes away.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createApp, nextTick, h, type App } from 'vue'
import LogsPanel from './LogsPanel.vue'

class FakeWS {
  static CONNECTING = 0
  static OPEN = 1
  static all: FakeWS[] = []
  readyState = 0
  closed = false
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeWS.all.push(this)
  }
  open() {
    this.readyState = 1
    this.onopen?.()
  }
  send(line: string) {
    this.onmessage?.({ data: line })
  }
  close() {
    this.closed = true
    this.readyState = 3
  }
}

let app: App | null = null
let host: HTMLElement

async function mount() {
  host = document.createElement('div')
  document.body.append(host)
  app = createApp({ render: () => h(LogsPanel, { scope: { project: 'shop', environment: 'prod' }, app: 'web' }) })
  app.mount(host)
  await nextTick()
  return FakeWS.all[FakeWS.all.length - 1]
}
const q = (id: string) => host.querySelector(`[data-testid="${id}"]`) as HTMLElement
const lines = () => [...host.querySelectorAll('[data-testid="log-line"]')].map((e) => e.textContent)

beforeEach(() => {
  FakeWS.all = []
  vi.stubGlobal('WebSocket', FakeWS)
})
afterEach(() => {
  app?.unmount()
  app = null
  document.body.innerHTML = ''
  vi.unstubAllGlobals()
})

describe('LogsPanel', () => {
  it('connects to the app and shows lines as they arrive', async () => {
    const ws = await mount()
    expect(ws.url).toMatch(/\/api\/v1\/projects\/shop\/apps\/web\/logs\?tail=100&environment=prod$/)
    expect(ws.protocols[0]).toBe('kipper.logs.v1')
    expect(ws.protocols[1]).toMatch(/^bearer\./)
    expect(q('logs-state').textContent).toContain('Connecting')
    ws.open()
    await nextTick()
    ws.send('[web-1] hello')
    await nextTick()
    expect(lines()).toEqual(['[web-1]hello'])
    ws.send('[web-2] world')
    await nextTick()
    expect(lines()).toEqual(['[web-1]hello', '[web-2]world'])
    expect(q('logs-state').textContent).toContain('Live · 2')
  })

  it('pause holds new lines, resume shows them', async () => {
    const ws = await mount()
    ws.open()
    ws.send('[a] one')
    await nextTick()
    q('logs-pause').click()
    await nextTick()
    ws.send('[a] two')
    ws.send('[a] three')
    await nextTick()
    expect(lines()).toEqual(['[a]one'])
    expect(q('logs-pause').textContent).toContain('Resume (2 new)')
    expect(q('logs-pause').getAttribute('aria-pressed')).toBe('true')
    q('logs-pause').click()
    await nextTick()
    expect(lines()).toEqual(['[a]one', '[a]two', '[a]three'])
  })

  it('search filters the lines and marks the matches', async () => {
    const ws = await mount()
    ws.open()
    ws.send('[a] GET /health 200')
    ws.send('[b] ERROR timeout')
    await nextTick()
    const input = q('logs-search') as HTMLInputElement
    input.value = 'error'
    input.dispatchEvent(new Event('input'))
    await nextTick()
    expect(lines()).toEqual(['[b]ERROR timeout'])
    expect(host.querySelector('mark')?.textContent).toBe('ERROR')
    expect(q('logs-state').textContent).toContain('1 of 2 lines')
  })

  it('closes the socket when unmounted', async () => {
    const ws = await mount()
    ws.open()
    app?.unmount()
    app = null
    expect(ws.closed).toBe(true)
  })
})
