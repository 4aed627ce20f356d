// SPDX-License-Identifier: Apache-2.0
// Small display helpers: relative ages ("3m ago"), dates, and the CSS tone of a status.

export function age(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return '—'
  const t = Date.parse(iso)
  if (Number.isNaN(t)) return '—'
  const s = Math.max(0, Math.round((now - t) / 1000))
  if (s < 60) return `${s}s ago`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ago`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ago`
  return `${Math.floor(h / 24)}d ago`
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}

export type Tone = 'ok' | 'warn' | 'bad' | 'idle'

export function statusTone(status: string | boolean | undefined): Tone {
  if (status === true) return 'ok'
  if (status === false) return 'bad'
  switch (status) {
    case 'Ready':
    case 'Running':
    case 'Succeeded':
      return 'ok'
    case 'Progressing':
    case 'Pending':
      return 'warn'
    case 'Failed':
      return 'bad'
    default:
      return 'idle'
  }
}
