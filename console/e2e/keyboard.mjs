// SPDX-License-Identifier: Apache-2.0
// Keyboard helpers for the browser end-to-end test, through playwright-core: what has the focus,
// whether that focus is visible (a computed outline or box-shadow), Tab until a given control
// has the focus (checking each stop shows its focus), and Tab round a modal dialog checking the
// focus never leaves it.

/**
 * The focused element: its data-testid (or tag), whether it is inside selector, and whether
 * its focus shows (outline style not none with a width, or a box-shadow).
 * @param {import('playwright-core').Page} page
 * @param {string} [inside] a CSS selector the focus should be within
 * @returns {Promise<{id: string, inside: boolean, visible: boolean, style: string}>}
 */
export function focused(page, inside = 'body') {
  return page.evaluate((sel) => {
    const el = document.activeElement ?? document.body
    const s = getComputedStyle(el)
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0
    const shadow = s.boxShadow !== 'none' && s.boxShadow !== ''
    const root = document.querySelector(sel)
    return {
      id: el.getAttribute('data-testid') ?? `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`,
      inside: !!root && root.contains(el),
      visible: outline || shadow,
      style: `outline ${s.outlineStyle} ${s.outlineWidth}, box-shadow ${s.boxShadow}`,
    }
  }, inside)
}

/**
 * Presses Tab until the control with data-testid id has the focus; every element it stops on
 * must show its focus. Returns the data-testids passed on the way.
 * @param {import('playwright-core').Page} page
 * @param {string} id
 * @param {number} [max] Tab presses before giving up
 * @returns {Promise<string[]>}
 */
export async function tabTo(page, id, max = 40) {
  const seen = []
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab')
    const f = await focused(page)
    if (f.id !== 'body' && !f.visible) throw new Error(`${f.id} has the focus but does not show it (${f.style})`)
    seen.push(f.id)
    if (f.id === id) return seen
  }
  throw new Error(`${max} presses of Tab never reached ${id}; passed ${seen.join(', ')}`)
}

/**
 * With a modal open, presses Tab (or Shift+Tab) more times than it has controls: the focus must
 * stay inside it, show itself, and come back round to where it started.
 * @param {import('playwright-core').Page} page
 * @param {string} dialog CSS selector of the dialog
 * @param {string} key 'Tab' or 'Shift+Tab'
 */
export async function checkFocusTrap(page, dialog, key = 'Tab') {
  const start = await focused(page, dialog)
  if (!start.inside) throw new Error(`the dialog opened but ${start.id} has the focus`)
  const count = await page.locator(`${dialog} button:not([disabled]), ${dialog} input, ${dialog} select, ${dialog} a[href]`).count()
  const seen = [start.id]
  for (let i = 0; i < count; i++) {
    await page.keyboard.press(key)
    const f = await focused(page, dialog)
    if (!f.inside) throw new Error(`${key} moved the focus out of the dialog to ${f.id} (after ${seen.join(', ')})`)
    if (!f.visible) throw new Error(`${f.id} has the focus but does not show it (${f.style})`)
    seen.push(f.id)
  }
  if (seen[seen.length - 1] !== start.id) throw new Error(`${key} ${count} times went ${seen.join(' -> ')}, not back round`)
  if (count > 1 && new Set(seen).size < 2) throw new Error(`${key} never moved the focus (${seen.join(', ')})`)
}
