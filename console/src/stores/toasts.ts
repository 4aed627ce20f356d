// SPDX-License-Identifier: Apache-2.0
// Toast messages: every action reports its result or error here; ToastRegion.vue shows them in an
// aria-live region. Each toast goes away by itself (errors stay longer) or when dismissed.
import { defineStore } from 'pinia'
import { describeError } from '../api/errors'

export type ToastKind = 'success' | 'error' | 'info'

export interface Toast {
  id: number
  kind: ToastKind
  message: string
  hint: string | null
}

export const TOAST_MS: Record<ToastKind, number> = { success: 4000, info: 4000, error: 8000 }

let nextId = 1

export const useToasts = defineStore('toasts', {
  state: () => ({ items: [] as Toast[] }),
  actions: {
    push(kind: ToastKind, message: string, hint: string | null = null): number {
      const id = nextId++
      this.items.push({ id, kind, message, hint })
      if (this.items.length > 5) this.items.shift()
      setTimeout(() => this.dismiss(id), TOAST_MS[kind])
      return id
    },
    success(message: string): number {
      return this.push('success', message)
    },
    info(message: string): number {
      return this.push('info', message)
    },
    /** An error toast from an ApiError (message and hint) or anything thrown; "what failed: why". */
    error(what: string, err: unknown): number {
      const d = describeError(err)
      return this.push('error', `${what}: ${d.message}`, d.hint)
    },
    dismiss(id: number): void {
      this.items = this.items.filter((t) => t.id !== id)
    },
  },
})
