// SPDX-License-Identifier: Apache-2.0
// The logs WebSocket client: URL and query, the two subprotocols carrying the token, lines
// delivered, close reported clean only when the client closed it.
import { describe, expect, it } from 'vitest'
import { logsUrl, openLogStream, LOGS_PROTOCOL } from './logs'

class FakeWS {
  static CONNECTING = 0
  static OPEN = 1
  static last: FakeWS
  readyState = 0
  closed: [number, string] | null = null
  onopen: (() => void) | null = null
  onmessage: ((e: { data: unknown }) => void) | null = null
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeWS.last = this
  }
  close(code: number, reason: string) {
    this.closed = [code, reason]
    this.readyState = 3
    this.onclose?.({ code, reason, wasClean: true })
  }
}

const loc = { protocol: 'https:', host: 'kip.example.com' }

describe('logs client', () => {
  it('builds a wss URL on the page host with tail, previous and environment', () => {
    expect(logsUrl({ project: 'p', app: 'a b', tail: 50, previous: true, environment: 'prod', location: loc })).toBe(
      'wss://kip.example.com/api/v1/projects/p/apps/a%20b/logs?tail=50&previous=true&environment=prod',
    )
    expect(logsUrl({ project: 'p', app: 'a', location: { protocol: 'http:', host: '127.0.0.1:8080' } })).toBe(
      'ws://127.0.0.1:8080/api/v1/projects/p/apps/a/logs',
    )
  })

  it('passes the token as a subprotocol and delivers text lines', () => {
    const lines: string[] = []
    let opened = false
    const closes: boolean[] = []
    const s = openLogStream(
      { project: 'p', app: 'a', token: 'TOK', location: loc, WebSocketImpl: FakeWS as unknown as typeof WebSocket },
      { onLine: (l) => lines.push(l), onOpen: () => (opened = true), onClose: (i) => closes.push(i.clean) },
    )
    const ws = FakeWS.last
    expect(ws.protocols).toEqual([LOGS_PROTOCOL, 'bearer.TOK'])
    ws.readyState = 1
    ws.onopen?.()
    ws.onmessage?.({ data: '[web-1] hello' })
    ws.onmessage?.({ data: new ArrayBuffer(2) })
    expect(opened).toBe(true)
    expect(lines).toEqual(['[web-1] hello'])
    s.close()
    expect(ws.closed).toEqual([1000, 'client closed'])
    expect(closes).toEqual([true])
  })

  it('reports a refused or broken stream as not clean', () => {
    const closes: { clean: boolean; code: number }[] = []
    openLogStream(
      { project: 'p', app: 'a', token: 'T', location: loc, WebSocketImpl: FakeWS as unknown as typeof WebSocket },
      { onLine: () => undefined, onClose: (i) => closes.push({ clean: i.clean, code: i.code }) },
    )
    FakeWS.last.onclose?.({ code: 1006, reason: '', wasClean: false })
    expect(closes).toEqual([{ clean: false, code: 1006 }])
  })
})
