// SPDX-License-Identifier: Apache-2.0
// The views' composables: useLoad (loading from the start, the error of the last try cleared when
// a new one starts, data kept when a try fails), useConfirm (busy while the action runs, the
// dialog closed after success or failure, a failure reported as an error toast) and useFormSubmit
// (nothing sent while a field is wrong, a server 400 on the field it names, else in formError).
import { beforeEach, describe, expect, it } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useLoad } from './useLoad'
import { useConfirm } from './useConfirm'
import { useFormSubmit } from './useFormSubmit'
import { ApiError } from '../api/errors'
import type { Checked } from '../lib/validate'
import { useToasts } from '../stores/toasts'

beforeEach(() => setActivePinia(createPinia()))

describe('useLoad', () => {
  it('loads, keeps the data when a later try fails, and clears the error on the next try', async () => {
    let answer: () => Promise<string[]> = async () => ['a']
    const l = useLoad(() => answer(), [] as string[])
    expect(l.loading.value).toBe(true)
    await l.load()
    expect([l.loading.value, l.data.value, l.error.value]).toEqual([false, ['a'], null])
    answer = async () => {
      throw new Error('down')
    }
    await l.load()
    expect(l.data.value).toEqual(['a'])
    expect((l.error.value as Error).message).toBe('down')
    let release = () => {}
    answer = () => new Promise((resolve) => (release = () => resolve(['b'])))
    const again = l.load()
    expect([l.loading.value, l.error.value]).toEqual([true, null])
    release()
    await again
    expect([l.loading.value, l.data.value]).toEqual([false, ['b']])
  })
})

describe('useConfirm', () => {
  it('runs the action on the target with busy set, then closes', async () => {
    const done: string[] = []
    let release = () => {}
    const c = useConfirm((t: string) => new Promise<void>((resolve) => (release = () => { done.push(t); resolve() })), (t) => `Delete ${t}`)
    await c.confirm() // nothing asked: nothing runs
    expect(done).toEqual([])
    c.target.value = 'web'
    const running = c.confirm()
    expect(c.busy.value).toBe(true)
    release()
    await running
    expect([done, c.busy.value, c.target.value]).toEqual([['web'], false, null])
    expect(useToasts().items).toEqual([])
  })

  it('reports a failure as an error toast and closes the dialog', async () => {
    const c = useConfirm(async () => {
      throw new Error('refused')
    }, (t: string) => `Delete ${t}`)
    c.target.value = 'db'
    await c.confirm()
    expect([c.busy.value, c.target.value]).toEqual([false, null])
    const toasts = useToasts().items
    expect(toasts).toHaveLength(1)
    expect(toasts[0].kind).toBe('error')
    expect(toasts[0].message).toContain('Delete db')
  })
})

describe('useFormSubmit', () => {
  it('sends nothing while a field is wrong, and puts a server 400 on the field it names', async () => {
    let checked: Checked<{ name: string }> = { ok: false, errors: { name: 'Name is required' } }
    const sent: string[] = []
    let answer: Error | null = null
    const f = useFormSubmit({
      check: () => checked,
      send: async (v) => {
        sent.push(v.name)
        if (answer) throw answer
      },
      what: (v) => `Create ${v.name}`,
      fieldOf: (message) => (message.startsWith('name') ? 'name' : null),
    })
    await f.submit()
    expect([sent, f.errors.value]).toEqual([[], { name: 'Name is required' }])
    checked = { ok: true, value: { name: 'web' } }
    answer = new ApiError(400, 'name is taken', null)
    await f.submit()
    expect([sent, f.errors.value, f.formError.value, f.busy.value]).toEqual([['web'], { name: 'name is taken' }, '', false])
    answer = new ApiError(400, 'the quota is exceeded', null)
    await f.submit()
    expect([f.errors.value, f.formError.value]).toEqual([{}, 'the quota is exceeded'])
    answer = null
    await f.submit()
    expect([sent.length, f.errors.value, f.formError.value]).toEqual([3, {}, ''])
    expect(useToasts().items.map((t) => t.kind)).toEqual(['error', 'error'])
  })
})
