// SPDX-License-Identifier: Apache-2.0
// A form checked before it is sent that shows the server's 400 on the field it names: submit()
// checks (errors per field; nothing is sent while any), sends with busy set, and on failure toasts
// what(value) with the error and puts a 400's message on the field fieldOf names, else in
// formError (other API errors go there too, with their hint).
import { ref } from 'vue'
import { ApiError } from '../api/errors'
import type { Checked, FieldErrors } from '../lib/validate'
import { useToasts } from '../stores/toasts'

export function useFormSubmit<V>(opts: {
  check: () => Checked<V>
  send: (value: V) => Promise<void>
  what: (value: V) => string
  fieldOf: (message: string) => string | null
}) {
  const toasts = useToasts()
  const errors = ref<FieldErrors>({})
  const formError = ref('')
  const busy = ref(false)
  async function submit() {
    formError.value = ''
    const checked = opts.check()
    if (!checked.ok) {
      errors.value = checked.errors
      return
    }
    errors.value = {}
    busy.value = true
    try {
      await opts.send(checked.value)
    } catch (err) {
      toasts.error(opts.what(checked.value), err)
      if (err instanceof ApiError && err.status === 400) {
        const field = opts.fieldOf(err.message)
        if (field) errors.value = { [field]: err.message }
        else formError.value = err.message
      } else if (err instanceof ApiError) {
        formError.value = err.message + (err.hint ? ` (${err.hint})` : '')
      }
    } finally {
      busy.value = false
    }
  }
  return { errors, formError, busy, submit }
}
