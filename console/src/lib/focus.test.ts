// SPDX-License-Identifier: Apache-2.0
// Focus trapping: Tab from the last control goes to the first, Shift+Tab from the first to the
// last, disabled controls are skipped; and the real ModalDialog traps focus and closes on Escape.
import { afterEach, describe, expect, it } from 'vitest'
import { createApp, h, nextTick, ref } from 'vue'
import { focusables, trapTab } from './focus'
import ModalDialog from '../components/ModalDialog.vue'

function tab(shift = false) {
  return new KeyboardEvent('keydown', { key: 'Tab', shiftKey: shift, cancelable: true, bubbles: true })
}

afterEach(() => {
  document.body.innerHTML = ''
})

describe('trapTab', () => {
  it('wraps at both ends and skips disabled controls', () => {
    const root = document.createElement('div')
    root.innerHTML = '<button id="a">a</button><button disabled>x</button><input id="b"><a id="c" href="#">c</a>'
    document.body.append(root)
    expect(focusables(root).map((e) => e.id)).toEqual(['a', 'b', 'c'])
    ;(root.querySelector('#c') as HTMLElement).focus()
    let e = tab()
    trapTab(root, e)
    expect(e.defaultPrevented).toBe(true)
    expect(document.activeElement?.id).toBe('a')
    e = tab(true)
    trapTab(root, e)
    expect(document.activeElement?.id).toBe('c')
    ;(root.querySelector('#b') as HTMLElement).focus()
    e = tab()
    trapTab(root, e)
    expect(e.defaultPrevented).toBe(false) // the browser moves on inside the dialog
  })
})

describe('ModalDialog', () => {
  it('focuses its autofocus control, closes on Escape and gives focus back', async () => {
    const opener = document.createElement('button')
    document.body.append(opener)
    opener.focus()
    const host = document.createElement('div')
    document.body.append(host)
    const open = ref(true)
    let closes = 0
    const app = createApp({
      render: () =>
        open.value
          ? h(
              ModalDialog,
              { title: 'Delete?', onClose: () => { closes++; open.value = false } },
              () => [h('button', { id: 'cancel', autofocus: true }, 'Cancel'), h('button', { id: 'ok' }, 'OK')],
            )
          : null,
    })
    app.mount(host)
    await nextTick()
    await nextTick()
    const dialog = document.querySelector('[role=dialog]') as HTMLElement
    expect(dialog.getAttribute('aria-modal')).toBe('true')
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)?.textContent).toBe('Delete?')
    expect(document.activeElement?.id).toBe('cancel')
    ;(document.getElementById('ok') as HTMLElement).focus()
    document.getElementById('ok')!.dispatchEvent(tab())
    expect(document.activeElement?.id).toBe('cancel')
    dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true }))
    await nextTick()
    expect(closes).toBe(1)
    expect(document.querySelector('[role=dialog]')).toBeNull()
    expect(document.activeElement).toBe(opener)
    app.unmount()
  })
})
