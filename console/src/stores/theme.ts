// SPDX-License-Identifier: Apache-2.0
// Dark mode: follows prefers-color-scheme until the user presses the toggle; the choice is then
// remembered in localStorage ("kipper.theme") and set as data-theme on <html>, which styles.css reads.
import { defineStore } from 'pinia'

export type Theme = 'light' | 'dark'
export const THEME_KEY = 'kipper.theme'

function stored(): Theme | null {
  try {
    const v = localStorage.getItem(THEME_KEY)
    return v === 'light' || v === 'dark' ? v : null
  } catch {
    return null
  }
}

function systemDark(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function'
    ? window.matchMedia('(prefers-color-scheme: dark)').matches
    : false
}

export const useTheme = defineStore('theme', {
  state: () => ({ choice: stored(), system: (systemDark() ? 'dark' : 'light') as Theme }),
  getters: {
    effective: (s): Theme => s.choice ?? s.system,
    dark(): boolean {
      return this.effective === 'dark'
    },
  },
  actions: {
    /** Applies the theme to <html> and follows system changes while no choice is stored. */
    init(): void {
      if (typeof window !== 'undefined' && typeof window.matchMedia === 'function') {
        const mq = window.matchMedia('(prefers-color-scheme: dark)')
        mq.addEventListener?.('change', (e) => {
          this.system = e.matches ? 'dark' : 'light'
          this.apply()
        })
      }
      this.apply()
    },
    toggle(): void {
      this.set(this.dark ? 'light' : 'dark')
    },
    set(t: Theme): void {
      this.choice = t
      try {
        localStorage.setItem(THEME_KEY, t)
      } catch {
        // private mode: the choice lasts for this page only
      }
      this.apply()
    },
    apply(): void {
      document.documentElement.dataset.theme = this.effective
    },
  },
})
