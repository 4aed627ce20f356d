// SPDX-License-Identifier: Apache-2.0
// The log view's state without the DOM: lines parsed from "[POD] text" frames, a bounded buffer,
// pause (new lines wait aside and are counted, resume shows them) and a case-insensitive search
// over pod and text. LogsPanel.vue renders it.

export interface LogLine {
  id: number
  pod: string
  text: string
}

/** Splits "[POD] text"; a line without the prefix keeps an empty pod. */
export function parseLogLine(raw: string, id: number): LogLine {
  const m = /^\[([^\]]*)\] ?(.*)$/s.exec(raw)
  return m ? { id, pod: m[1], text: m[2] } : { id, pod: '', text: raw }
}

export class LogBuffer {
  lines: LogLine[] = []
  pending: LogLine[] = []
  paused = false
  /** lines dropped from the front since the buffer was full */
  dropped = 0
  private nextId = 1

  constructor(readonly max = 5000) {}

  push(raw: string): void {
    const line = parseLogLine(raw, this.nextId++)
    if (this.paused) {
      this.pending.push(line)
      if (this.pending.length > this.max) {
        this.pending.shift()
        this.dropped++
      }
      return
    }
    this.lines.push(line)
    this.trim()
  }

  pause(): void {
    this.paused = true
  }

  resume(): void {
    this.paused = false
    if (this.pending.length) {
      this.lines.push(...this.pending)
      this.pending = []
      this.trim()
    }
  }

  clear(): void {
    this.lines = []
    this.pending = []
    this.dropped = 0
  }

  private trim(): void {
    const over = this.lines.length - this.max
    if (over > 0) {
      this.lines.splice(0, over)
      this.dropped += over
    }
  }

  /** The shown lines matching a search (all when the search is blank). */
  filter(search: string): LogLine[] {
    const q = search.trim().toLowerCase()
    if (!q) return this.lines
    return this.lines.filter((l) => l.text.toLowerCase().includes(q) || l.pod.toLowerCase().includes(q))
  }

  /** The distinct pods seen, in order of first line. */
  pods(): string[] {
    const seen = new Set<string>()
    for (const l of this.lines) if (l.pod) seen.add(l.pod)
    return [...seen]
  }
}
