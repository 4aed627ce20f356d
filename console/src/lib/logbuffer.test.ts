// SPDX-License-Identifier: Apache-2.0
// The log view's logic: parsing "[POD] text", pause keeps new lines aside and resume shows them in
// order, the buffer stays bounded, search is case-insensitive over text and pod.
import { describe, expect, it } from 'vitest'
import { LogBuffer, parseLogLine } from './logbuffer'

describe('parseLogLine', () => {
  it('splits the pod prefix', () => {
    expect(parseLogLine('[web-7d9-x] GET / 200', 1)).toEqual({ id: 1, pod: 'web-7d9-x', text: 'GET / 200' })
    expect(parseLogLine('no prefix', 2)).toEqual({ id: 2, pod: '', text: 'no prefix' })
    expect(parseLogLine('[p]', 3)).toEqual({ id: 3, pod: 'p', text: '' })
  })
})

describe('LogBuffer', () => {
  it('appends lines while live', () => {
    const b = new LogBuffer()
    b.push('[a] one')
    b.push('[b] two')
    expect(b.lines.map((l) => l.text)).toEqual(['one', 'two'])
    expect(b.pods()).toEqual(['a', 'b'])
  })

  it('holds lines while paused and shows them in order on resume', () => {
    const b = new LogBuffer()
    b.push('[a] 1')
    b.pause()
    b.push('[a] 2')
    b.push('[a] 3')
    expect(b.lines.map((l) => l.text)).toEqual(['1'])
    expect(b.pending).toHaveLength(2)
    b.resume()
    expect(b.paused).toBe(false)
    expect(b.lines.map((l) => l.text)).toEqual(['1', '2', '3'])
    expect(b.pending).toHaveLength(0)
    expect(new Set(b.lines.map((l) => l.id)).size).toBe(3)
  })

  it('keeps at most max lines, dropping the oldest, paused or not', () => {
    const b = new LogBuffer(3)
    for (let i = 1; i <= 5; i++) b.push(`[p] ${i}`)
    expect(b.lines.map((l) => l.text)).toEqual(['3', '4', '5'])
    expect(b.dropped).toBe(2)
    b.pause()
    for (let i = 6; i <= 10; i++) b.push(`[p] ${i}`)
    expect(b.pending.map((l) => l.text)).toEqual(['8', '9', '10'])
    b.resume()
    expect(b.lines.map((l) => l.text)).toEqual(['8', '9', '10'])
  })

  it('filters by text or pod, case-insensitively; blank search shows all', () => {
    const b = new LogBuffer()
    b.push('[web-1] GET /health 200')
    b.push('[web-2] ERROR db timeout')
    b.push('[worker-1] job done')
    expect(b.filter('error').map((l) => l.pod)).toEqual(['web-2'])
    expect(b.filter('WEB').map((l) => l.pod)).toEqual(['web-1', 'web-2'])
    expect(b.filter('  ')).toHaveLength(3)
    expect(b.filter('nothing')).toHaveLength(0)
  })

  it('does not search lines that wait behind a pause', () => {
    const b = new LogBuffer()
    b.pause()
    b.push('[a] hidden')
    expect(b.filter('hidden')).toHaveLength(0)
    b.clear()
    expect(b.pending).toHaveLength(0)
  })
})
