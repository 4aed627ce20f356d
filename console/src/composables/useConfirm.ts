// SPDX-License-Identifier: Apache-2.0
// Confirm-then-act behind a ConfirmDialog: target is what the dialog asks about (null: closed);
// confirm() runs the action on it with busy set, reports a failure as an error toast titled
// what(target), and closes the dialog either way.
import { ref, type Ref } from 'vue'
import { useToasts } from '../stores/toasts'

export function useConfirm<T>(act: (target: T) => Promise<void>, what: (target: T) => string) {
  const toasts = useToasts()
  const target = ref(null) as Ref<T | null>
  const busy = ref(false)
  async function confirm() {
    const t = target.value
    if (t === null) return
    busy.value = true
    try {
      await act(t)
    } catch (err) {
      toasts.error(what(t), err)
    } finally {
      busy.value = false
      target.value = null
    }
  }
  return { target, busy, confirm }
}
