// SPDX-License-Identifier: Apache-2.0
// ApiError: the one error type every API call rejects with ({status, message, hint}), and the
// parser that turns a kipperd error response ({"error", "hint"}) or a network failure into it.

export class ApiError extends Error {
  readonly status: number
  readonly hint: string | null

  /** status 0 means the request never got an answer (network down, kipperd stopped). */
  constructor(status: number, message: string, hint: string | null = null) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.hint = hint
  }

  get isAuth(): boolean {
    return this.status === 401
  }

  get isForbidden(): boolean {
    return this.status === 403
  }
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request',
  401: 'Not signed in',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Method not allowed',
  409: 'Conflict',
  413: 'Request too large',
  415: 'Unsupported content type',
  429: 'Too many requests',
  500: 'Server error',
  502: 'Bad gateway',
  503: 'Kubernetes API unavailable',
}

/** Reads a failed response's body; never throws. */
export async function parseErrorResponse(res: Response): Promise<ApiError> {
  let message = ''
  let hint: string | null = null
  let text = ''
  try {
    text = await res.text()
  } catch {
    text = ''
  }
  if (text) {
    try {
      const body: unknown = JSON.parse(text)
      if (body && typeof body === 'object') {
        const b = body as Record<string, unknown>
        if (typeof b.error === 'string') message = b.error
        else if (typeof b.message === 'string') message = b.message
        if (typeof b.hint === 'string' && b.hint !== '') hint = b.hint
      }
    } catch {
      // not JSON: a proxy's HTML page or plain text; keep a short plain one
      if (!text.trimStart().startsWith('<')) message = text.trim().slice(0, 300)
    }
  }
  if (!message) message = STATUS_TEXT[res.status] ?? (res.statusText || `HTTP ${res.status}`)
  if (res.status === 429 && !hint) {
    const retry = res.headers.get('Retry-After')
    if (retry) hint = `Try again in ${retry} s.`
  }
  return new ApiError(res.status, message, hint)
}

/** Wraps anything thrown by fetch (TypeError, abort) as a status-0 ApiError. */
export function networkError(err: unknown): ApiError {
  if (err instanceof ApiError) return err
  const detail = err instanceof Error ? err.message : String(err)
  return new ApiError(0, `Cannot reach kipperd: ${detail}`, 'Check that kipperd is running and the network is up.')
}

/** A message for a toast: "message (hint)". */
export function describeError(err: unknown): { message: string; hint: string | null } {
  if (err instanceof ApiError) return { message: err.message, hint: err.hint }
  if (err instanceof Error) return { message: err.message, hint: null }
  return { message: String(err), hint: null }
}
