// SPDX-License-Identifier: Apache-2.0
// The live logs WebSocket: /api/v1/projects/{project}/apps/{app}/logs with the token passed as a
// subprotocol (["kipper.logs.v1", "bearer." + token]); each text frame is one "[POD] text" line.
import { api, API_PREFIX, seg, withQuery } from './client'

export const LOGS_PROTOCOL = 'kipper.logs.v1'

export interface LogStreamOptions {
  project: string
  app: string
  environment?: string
  tail?: number
  previous?: boolean
  /** defaults to the shared client's token */
  token?: string
  /** defaults to window.location */
  location?: { protocol: string; host: string }
  /** tests pass a fake */
  WebSocketImpl?: typeof WebSocket
}

export interface LogStreamHandlers {
  onLine: (line: string) => void
  onOpen?: () => void
  /** clean is false when the server refused or the connection broke */
  onClose?: (info: { code: number; reason: string; clean: boolean }) => void
}

export interface LogStream {
  close: () => void
}

/** The ws:// or wss:// URL of an app's log stream on the page's own host. */
export function logsUrl(o: LogStreamOptions): string {
  const loc = o.location ?? window.location
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:'
  const path = `${API_PREFIX}/projects/${seg(o.project)}/apps/${seg(o.app)}/logs`
  return `${scheme}//${loc.host}${withQuery(path, { tail: o.tail, previous: o.previous ? 'true' : undefined, environment: o.environment })}`
}

export function openLogStream(o: LogStreamOptions, h: LogStreamHandlers): LogStream {
  const token = o.token ?? api.currentToken ?? ''
  const WS = o.WebSocketImpl ?? WebSocket
  const ws = new WS(logsUrl(o), [LOGS_PROTOCOL, `bearer.${token}`])
  let closedByUs = false
  ws.onopen = () => h.onOpen?.()
  ws.onmessage = (ev: MessageEvent) => {
    if (typeof ev.data === 'string') h.onLine(ev.data)
  }
  ws.onclose = (ev: CloseEvent) => {
    h.onClose?.({ code: ev.code, reason: ev.reason, clean: closedByUs || ev.wasClean })
  }
  return {
    close: () => {
      closedByUs = true
      if (ws.readyState === WS.OPEN || ws.readyState === WS.CONNECTING) ws.close(1000, 'client closed')
    },
  }
}
