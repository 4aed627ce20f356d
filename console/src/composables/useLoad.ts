// SPDX-License-Identifier: Apache-2.0
// A view's data from the API, for LoadState and the Refresh button: data (initial until the first
// answer, kept when a later try fails), loading while a try runs (true from the start), the error
// of the last try (cleared when a new one starts) and load() to fetch again.
import { ref, type Ref } from 'vue'

export function useLoad<T>(fetch: () => Promise<T>, initial: T) {
  const data = ref(initial) as Ref<T>
  const loading = ref(true)
  const error = ref<unknown>(null)
  async function load() {
    loading.value = true
    error.value = null
    try {
      data.value = await fetch()
    } catch (err) {
      error.value = err
    } finally {
      loading.value = false
    }
  }
  return { data, loading, error, load }
}
