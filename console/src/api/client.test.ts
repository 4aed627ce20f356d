// SPDX-License-Identifier: Apache-2.0
// The API client against a fake fetch: bearer header, refresh timer from expires_at, one
// refresh-and-retry on 401, session loss, shared refresh, ApiError parsing, query building.
import { describe, expect, it, vi, beforeEach } from 'vitest'
import { ApiClient, withQuery } from './client'
import { ApiError, parseErrorResponse, networkError } from './errors'

type Call = { url: string; init: RequestInit }

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', ...headers },
  })
}

/** A fake kipperd: answers from a handler and records every call. */
function fakeFetch(handler: (c: Call) => Response | Promise<Response>) {
  const calls: Call[] = []
  const fetch = vi.fn(async (url: string, init: RequestInit = {}) => {
    const c = { url, init }
    calls.push(c)
    return handler(c)
  })
  return { fetch, calls }
}

const auth = (c: Call) => (c.init.headers as Record<string, string>).Authorization
const NOW = Date.parse('2026-01-01T00:00:00Z')
const session = (token: string, inSeconds: number) => ({
  token,
  expires_at: new Date(NOW + inSeconds * 1000).toISOString(),
  user: { email: 'ann@example.com', role: 'admin' as const },
})

describe('ApiClient', () => {
  let timers: { fn: () => void; ms: number }[]
  let client: ApiClient
  const make = (f: ReturnType<typeof fakeFetch>) =>
    (client = new ApiClient({
      fetch: f.fetch,
      now: () => NOW,
      setTimer: (fn, ms) => {
        timers.push({ fn, ms })
        return timers.length
      },
      clearTimer: () => undefined,
    }))

  beforeEach(() => {
    timers = []
  })

  it('sends the bearer token and JSON body, and parses the JSON answer', async () => {
    const f = fakeFetch(() => json(200, { items: [1, 2] }))
    make(f).setSession(session('t1', 900))
    const got = await client.post<{ items: number[] }>('/projects', { name: 'web' }, { environment: 'prod' })
    expect(got.items).toEqual([1, 2])
    expect(f.calls[0].url).toBe('/api/v1/projects?environment=prod')
    expect(auth(f.calls[0])).toBe('Bearer t1')
    expect(f.calls[0].init.body).toBe('{"name":"web"}')
    expect(f.calls[0].init.credentials).toBe('same-origin')
  })

  it('answers undefined for 204', async () => {
    const f = fakeFetch(() => new Response(null, { status: 204 }))
    make(f).setSession(session('t1', 900))
    await expect(client.del('/users/x')).resolves.toBeUndefined()
  })

  it('schedules the refresh one minute before expiry, and the timer refreshes with the cookie', async () => {
    const f = fakeFetch((c) => (c.url.endsWith('/auth/refresh') ? json(200, session('t2', 900)) : json(200, {})))
    make(f).setSession(session('t1', 900))
    expect(timers).toHaveLength(1)
    expect(timers[0].ms).toBe(840_000)
    timers[0].fn()
    await vi.waitFor(() => expect(client.currentToken).toBe('t2'))
    const refreshCall = f.calls.find((c) => c.url === '/api/v1/auth/refresh')!
    expect(refreshCall.init.method).toBe('POST')
    expect(refreshCall.init.credentials).toBe('same-origin')
    expect(auth(refreshCall)).toBeUndefined()
    expect(timers).toHaveLength(2) // rescheduled from the new expires_at
  })

  it('refreshes at half the lifetime when the token lives less than two margins', () => {
    make(fakeFetch(() => json(200, {}))).setSession(session('t1', 60))
    expect(timers[0].ms).toBe(30_000)
    expect(client.refreshDelay()).toBe(30_000)
  })

  it('ends the session when the timed refresh is refused', async () => {
    const f = fakeFetch(() => json(401, { error: 'refresh token revoked' }))
    make(f).setSession(session('t1', 900))
    const lost = vi.fn()
    client.onAuthLost(lost)
    timers[0].fn()
    await vi.waitFor(() => expect(lost).toHaveBeenCalledTimes(1))
    expect(client.authenticated).toBe(false)
  })

  it('on a 401 refreshes once and retries with the new token', async () => {
    const f = fakeFetch((c) => {
      if (c.url.endsWith('/auth/refresh')) return json(200, session('fresh', 900))
      return auth(c) === 'Bearer fresh' ? json(200, { ok: true }) : json(401, { error: 'token expired' })
    })
    make(f).setSession(session('stale', 900))
    await expect(client.get('/cluster')).resolves.toEqual({ ok: true })
    expect(f.calls.map((c) => c.url)).toEqual(['/api/v1/cluster', '/api/v1/auth/refresh', '/api/v1/cluster'])
  })

  it('on a 401 whose refresh fails, rejects with the 401 and reports the lost session', async () => {
    const f = fakeFetch(() => json(401, { error: 'invalid token', hint: 'sign in again' }))
    make(f).setSession(session('stale', 900))
    const lost = vi.fn()
    client.onAuthLost(lost)
    const err = await client.get('/cluster').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(401)
    expect((err as ApiError).hint).toBe('sign in again')
    expect(lost).toHaveBeenCalledTimes(1)
    expect(f.calls).toHaveLength(2) // the call and one refresh, no retry loop
    expect(client.authenticated).toBe(false)
  })

  it('retries only once: a second 401 after a good refresh ends the session', async () => {
    const f = fakeFetch((c) => (c.url.endsWith('/auth/refresh') ? json(200, session('t2', 900)) : json(401, { error: 'no' })))
    make(f).setSession(session('t1', 900))
    const lost = vi.fn()
    client.onAuthLost(lost)
    await expect(client.get('/users')).rejects.toMatchObject({ status: 401 })
    expect(f.calls).toHaveLength(3)
    expect(lost).toHaveBeenCalledTimes(1)
  })

  it('does not refresh on a 401 from a call made without auth (a wrong login)', async () => {
    const f = fakeFetch(() => json(401, { error: 'wrong e-mail or password' }))
    make(f)
    await expect(client.request('POST', '/auth/login', { body: {}, auth: false })).rejects.toMatchObject({
      status: 401,
      message: 'wrong e-mail or password',
    })
    expect(f.calls).toHaveLength(1)
  })

  it('shares one refresh between concurrent 401s', async () => {
    let refreshes = 0
    const f = fakeFetch(async (c) => {
      if (c.url.endsWith('/auth/refresh')) {
        refreshes++
        await new Promise((r) => setTimeout(r, 5))
        return json(200, session('t2', 900))
      }
      return auth(c) === 'Bearer t2' ? json(200, { u: c.url }) : json(401, { error: 'expired' })
    })
    make(f).setSession(session('t1', 900))
    const [a, b] = await Promise.all([client.get('/a'), client.get('/b')])
    expect(a).toEqual({ u: '/api/v1/a' })
    expect(b).toEqual({ u: '/api/v1/b' })
    expect(refreshes).toBe(1)
  })

  it('does not retry other errors', async () => {
    const f = fakeFetch(() => json(403, { error: 'deploy needs the deployer role in project web', hint: 'ask an owner' }))
    make(f).setSession(session('t1', 900))
    await expect(client.post('/projects/web/apps', {})).rejects.toMatchObject({
      status: 403,
      message: 'deploy needs the deployer role in project web',
      hint: 'ask an owner',
      isForbidden: true,
    })
    expect(f.calls).toHaveLength(1)
  })

  it('turns a network failure into a status-0 ApiError', async () => {
    const f = fakeFetch(() => {
      throw new TypeError('Failed to fetch')
    })
    make(f)
    await expect(client.get('/version')).rejects.toMatchObject({ status: 0, message: 'Cannot reach kipperd: Failed to fetch' })
  })

  it('clearSession stops the session and tells listeners', () => {
    make(fakeFetch(() => json(200, {})))
    const seen: (string | null)[] = []
    client.onSession((s) => seen.push(s ? s.token : null))
    client.setSession(session('t1', 900))
    client.clearSession()
    client.clearSession()
    expect(seen).toEqual(['t1', null])
    expect(client.refreshDelay()).toBeNull()
  })
})

describe('parseErrorResponse', () => {
  it('reads {error, hint}', async () => {
    const e = await parseErrorResponse(json(409, { error: 'app web exists', hint: 'use PUT' }))
    expect([e.status, e.message, e.hint]).toEqual([409, 'app web exists', 'use PUT'])
  })
  it('falls back to a status text for an empty or HTML body', async () => {
    expect((await parseErrorResponse(new Response('', { status: 503 }))).message).toBe('Kubernetes API unavailable')
    expect((await parseErrorResponse(new Response('<html>bad gateway</html>', { status: 502 }))).message).toBe('Bad gateway')
    expect((await parseErrorResponse(new Response('', { status: 418 }))).message).toBe('HTTP 418')
  })
  it('keeps a short plain-text body', async () => {
    expect((await parseErrorResponse(new Response('quota exceeded', { status: 400 }))).message).toBe('quota exceeded')
  })
  it('turns Retry-After into a hint on 429', async () => {
    const e = await parseErrorResponse(json(429, { error: 'too many login attempts' }, { 'Retry-After': '30' }))
    expect(e.hint).toBe('Try again in 30 s.')
  })
  it('networkError keeps an ApiError as it is', () => {
    const e = new ApiError(404, 'x')
    expect(networkError(e)).toBe(e)
  })
})

describe('withQuery', () => {
  it('leaves out empty values and encodes the rest', () => {
    expect(withQuery('/x', { a: 'b c', n: 0, t: true, u: undefined, z: null, e: '' })).toBe('/x?a=b+c&n=0&t=true')
    expect(withQuery('/x', {})).toBe('/x')
    expect(withQuery('/x')).toBe('/x')
  })
})
