// SPDX-License-Identifier: Apache-2.0
// Layout checks for the browser end-to-end test, run in the page through playwright-core: at a
// given viewport the page must not scroll sideways, and no visible element may stick out of the
// viewport unless it sits inside a container that scrolls on purpose (overflow-x auto or scroll:
// the tables' .table-wrap, the log pane). Elements moved wholly off the left edge (the skip link)
// count as hidden.

/** The phone, tablet and wide-screen sizes every view is checked at. */
export const VIEWPORTS = [
  { name: 'phone', width: 360, height: 740 },
  { name: 'tablet', width: 768, height: 1024 },
  { name: 'wide', width: 1920, height: 1080 },
]

/**
 * Resizes the page and waits two animation frames, so the layout has settled.
 * @param {import('playwright-core').Page} page
 * @param {{width: number, height: number}} size
 */
export async function resize(page, size) {
  await page.setViewportSize({ width: size.width, height: size.height })
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))))
}

/**
 * What breaks the layout at the current size: the page's horizontal overflow and each element
 * outside the viewport's width (at most 10, described by tag, data-testid or class, and box).
 * @param {import('playwright-core').Page} page
 * @returns {Promise<string[]>} empty when the layout holds
 */
export function layoutProblems(page) {
  return page.evaluate(() => {
    const width = window.innerWidth
    const problems = []
    const doc = document.documentElement
    if (doc.scrollWidth > width + 1) problems.push(`the page is ${doc.scrollWidth}px wide in a ${width}px window`)
    // true when a scrolling ancestor clips el: only ancestors that hold its containing block do
    // (an absolutely placed element escapes static ancestors, a fixed one escapes them all)
    const scrolls = (el) => {
      let position = getComputedStyle(el).position
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (position === 'fixed') return false
        const s = getComputedStyle(a)
        if (position === 'absolute' && s.position === 'static') continue
        if (/^(auto|scroll)$/.test(s.overflowX)) return true
        position = s.position
      }
      return false
    }
    const describe = (el) => {
      const id = el.getAttribute('data-testid')
      const cls = typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : ''
      return `${el.tagName.toLowerCase()}${id ? `[data-testid=${id}]` : cls}`
    }
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect()
      if (r.width === 0 || r.height === 0 || r.right <= 0) continue
      if (r.left >= -1 && r.right <= width + 1) continue
      if (getComputedStyle(el).visibility === 'hidden' || scrolls(el)) continue
      problems.push(`${describe(el)} spans ${Math.round(r.left)}..${Math.round(r.right)}px of ${width}px`)
      if (problems.length >= 10) break
    }
    return problems
  })
}

/**
 * Checks the current view at every size in VIEWPORTS; throws listing every problem found.
 * @param {import('playwright-core').Page} page
 * @param {string} view the view's name, for the message
 * @param {(size: {name: string, width: number, height: number}) => Promise<void>} [atSize] more checks per size
 */
export async function checkLayout(page, view, atSize) {
  const found = []
  for (const size of VIEWPORTS) {
    await resize(page, size)
    for (const p of await layoutProblems(page)) found.push(`${view} at ${size.width}x${size.height}: ${p}`)
    if (atSize) await atSize(size)
  }
  if (found.length) throw new Error(found.join('\n'))
}
