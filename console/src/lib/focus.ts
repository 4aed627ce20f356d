// SPDX-License-Identifier: Apache-2.0
// Focus helpers for dialogs: the focusable elements inside a container, and Tab/Shift+Tab
// wrapping at its ends so focus cannot leave an open modal.

const SELECTOR =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(SELECTOR)].filter((el) => !el.hasAttribute('inert'))
}

/** Call on a Tab keydown inside root: wraps from the last element to the first and back. */
export function trapTab(root: HTMLElement, e: KeyboardEvent): void {
  const items = focusables(root)
  if (items.length === 0) {
    e.preventDefault()
    root.focus()
    return
  }
  const first = items[0]
  const last = items[items.length - 1]
  const active = document.activeElement
  if (e.shiftKey && (active === first || active === root)) {
    e.preventDefault()
    last.focus()
  } else if (!e.shiftKey && active === last) {
    e.preventDefault()
    first.focus()
  } else if (!root.contains(active)) {
    e.preventDefault()
    first.focus()
  }
}
