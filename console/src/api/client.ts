// SPDX-License-Identifier: Apache-2.0
// The HTTP core of the API client: JSON requests to /api/v1 with the bearer token kept in memory
// only, a timer that refreshes the token before expires_at (POST /auth/refresh, the HttpOnly
// cookie sent with credentials: 'same-origin'), one refresh-and-retry on a 401, and ApiError for
// every failure. The endpoint modules (auth.ts, apps.ts, ...) call the shared `api` instance.
import { ApiError, networkError, parseErrorResponse } from './errors'
import type { LoginResponse } from './types'

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>
export type Query = Record<string, string | number | boolean | undefined | null>

export interface ClientOptions {
  baseUrl?: string
  fetch?: FetchLike
  /** clock in ms (tests move it) */
  now?: () => number
  setTimer?: (fn: () => void, ms: number) => unknown
  clearTimer?: (handle: unknown) => void
  /** refresh this long before expiry, at most half the token's lifetime */
  refreshMarginMs?: number
}

export interface RequestOptions {
  body?: unknown
  query?: Query
  /** send the bearer token and refresh on 401 (default true) */
  auth?: boolean
  signal?: AbortSignal
}

export const API_PREFIX = '/api/v1'

/** Builds "path?k=v" leaving out undefined, null and empty values. */
export function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue
    params.set(k, String(v))
  }
  const s = params.toString()
  return s ? `${path}?${s}` : path
}

/** Encodes one path segment (project, app, e-mail). */
export const seg = (s: string): string => encodeURIComponent(s)

export class ApiClient {
  private token: string | null = null
  private expiresAt: number | null = null
  private timer: unknown = null
  private refreshing: Promise<LoginResponse> | null = null
  private readonly opts: Required<Omit<ClientOptions, 'fetch'>> & { fetch?: FetchLike }
  private sessionListeners: ((s: LoginResponse | null) => void)[] = []
  private authLostListeners: (() => void)[] = []

  constructor(opts: ClientOptions = {}) {
    this.opts = {
      baseUrl: opts.baseUrl ?? '',
      fetch: opts.fetch,
      now: opts.now ?? (() => Date.now()),
      setTimer: opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms)),
      clearTimer: opts.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>)),
      refreshMarginMs: opts.refreshMarginMs ?? 60_000,
    }
  }

  /** Replaces the fetch function (tests). */
  setFetch(f: FetchLike | undefined): void {
    this.opts.fetch = f
  }

  get currentToken(): string | null {
    return this.token
  }

  get authenticated(): boolean {
    return this.token !== null
  }

  /** Called with the new session after login and every refresh, and with null when it ends. */
  onSession(fn: (s: LoginResponse | null) => void): () => void {
    this.sessionListeners.push(fn)
    return () => (this.sessionListeners = this.sessionListeners.filter((f) => f !== fn))
  }

  /** Called when the session is gone and cannot be refreshed: the app shows Login. */
  onAuthLost(fn: () => void): () => void {
    this.authLostListeners.push(fn)
    return () => (this.authLostListeners = this.authLostListeners.filter((f) => f !== fn))
  }

  /** Keeps a login or refresh answer: the token in memory and the refresh timer. */
  setSession(s: LoginResponse): void {
    this.token = s.token
    const t = Date.parse(s.expires_at)
    this.expiresAt = Number.isNaN(t) ? null : t
    this.schedule()
    for (const fn of this.sessionListeners) fn(s)
  }

  /** Forgets the token and stops the timer (logout, failed refresh). */
  clearSession(): void {
    const had = this.token !== null
    this.token = null
    this.expiresAt = null
    this.cancelTimer()
    if (had) for (const fn of this.sessionListeners) fn(null)
  }

  /** Milliseconds until the refresh timer fires, or null when none is set (tests, debugging). */
  refreshDelay(): number | null {
    if (this.expiresAt === null) return null
    const left = this.expiresAt - this.opts.now()
    const margin = Math.min(this.opts.refreshMarginMs, Math.max(left / 2, 0))
    return Math.max(left - margin, 0)
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.opts.clearTimer(this.timer)
    this.timer = null
  }

  private schedule(): void {
    this.cancelTimer()
    const delay = this.refreshDelay()
    if (delay === null) return
    this.timer = this.opts.setTimer(() => {
      this.timer = null
      this.refresh().catch(() => this.lose())
    }, delay)
  }

  private lose(): void {
    this.clearSession()
    for (const fn of this.authLostListeners) fn()
  }

  private fetchFn(): FetchLike {
    if (this.opts.fetch) return this.opts.fetch
    return (input, init) => globalThis.fetch(input, init)
  }

  /**
   * Gets a new token with the refresh cookie. Concurrent callers share one request (the server
   * rotates the cookie, so a second parallel refresh would look like a replay).
   */
  refresh(): Promise<LoginResponse> {
    if (!this.refreshing) {
      this.refreshing = this.send<LoginResponse>('POST', '/auth/refresh', { auth: false })
        .then((s) => {
          this.setSession(s)
          return s
        })
        .finally(() => {
          this.refreshing = null
        })
    }
    return this.refreshing
  }

  /**
   * One API call: JSON in, JSON out (undefined for 204). On a 401 with a token, refreshes once and
   * retries; when that fails the session ends and onAuthLost listeners run.
   */
  async request<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const auth = o.auth !== false
    try {
      return await this.send<T>(method, path, o)
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || !auth) throw err
      try {
        await this.refresh()
      } catch {
        this.lose()
        throw err
      }
      try {
        return await this.send<T>(method, path, o)
      } catch (again) {
        if (again instanceof ApiError && again.status === 401) this.lose()
        throw again
      }
    }
  }

  private async send<T>(method: string, path: string, o: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' }
    const init: RequestInit = { method, headers, credentials: 'same-origin', signal: o.signal }
    if (o.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      init.body = JSON.stringify(o.body)
    }
    if (o.auth !== false && this.token) headers.Authorization = `Bearer ${this.token}`
    const url = this.opts.baseUrl + API_PREFIX + withQuery(path, o.query)
    let res: Response
    try {
      res = await this.fetchFn()(url, init)
    } catch (err) {
      throw networkError(err)
    }
    if (!res.ok) throw await parseErrorResponse(res)
    if (res.status === 204) return undefined as T
    const text = await res.text()
    if (!text) return undefined as T
    try {
      return JSON.parse(text) as T
    } catch {
      throw new ApiError(res.status, 'kipperd sent a response that is not JSON', null)
    }
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query })
  }
  post<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { body, query })
  }
  put<T>(path: string, body?: unknown, query?: Query): Promise<T> {
    return this.request<T>('PUT', path, { body, query })
  }
  del(path: string, query?: Query): Promise<void> {
    return this.request<void>('DELETE', path, { query })
  }
}

/** The client every view shares. */
export const api = new ApiClient()
