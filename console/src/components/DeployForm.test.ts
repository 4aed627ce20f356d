// SPDX-License-Identifier: Apache-2.0
// The real DeployForm against a fake fetch: field errors before anything is sent (aria-invalid,
// messages tied to their fields), the request body of a valid form, and a server 400 shown on the
// field it names.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createApp, h, nextTick, type App } from 'vue'
import { createPinia, setActivePinia } from 'pinia'
import DeployForm from './DeployForm.vue'
import { api } from '../api/client'

let app: App | null = null
let host: HTMLElement
let sent: { url: string; body: unknown }[]
let deployed: string[]

function serve(status: number, body: unknown) {
  sent = []
  api.setFetch(async (url, init = {}) => {
    sent.push({ url, body: init.body ? JSON.parse(String(init.body)) : undefined })
    return new Response(JSON.stringify(body), { status })
  })
}

function mount() {
  host = document.createElement('div')
  document.body.append(host)
  deployed = []
  const pinia = createPinia()
  setActivePinia(pinia)
  app = createApp({
    render: () => h(DeployForm, { scope: { project: 'shop' }, onDeployed: (a: { name: string }) => deployed.push(a.name) }),
  })
  app.use(pinia)
  app.mount(host)
}
const field = (id: string) => host.querySelector(`[data-testid="deploy-${id}"]`) as HTMLInputElement
function type(id: string, value: string) {
  const el = field(id)
  el.value = value
  el.dispatchEvent(new Event('input'))
}
async function submit() {
  ;(host.querySelector('[data-testid="deploy-form"]') as HTMLFormElement).dispatchEvent(new Event('submit', { cancelable: true }))
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
  await nextTick()
}

beforeEach(mount)
afterEach(() => {
  app?.unmount()
  document.body.innerHTML = ''
  api.setFetch(undefined)
})

describe('DeployForm', () => {
  it('shows field errors and sends nothing while the form is invalid', async () => {
    serve(201, { name: 'x' })
    type('name', 'Bad Name')
    type('port', '99999')
    await submit()
    expect(sent).toHaveLength(0)
    expect(field('name').getAttribute('aria-invalid')).toBe('true')
    expect(field('name').getAttribute('aria-describedby')).toContain('deploy-name-error')
    expect(host.querySelector('#deploy-name-error')?.textContent).toContain('lowercase')
    expect(host.querySelector('#deploy-image-error')?.textContent).toContain('required')
    expect(host.querySelector('#deploy-port-error')?.textContent).toContain('65535')
    expect(field('replicas').getAttribute('aria-invalid')).toBeNull()
    const label = host.querySelector('label[for="deploy-image"]')
    expect(label?.textContent).toBe('Image (required)')
  })

  it('posts the checked body and reports the deployed app', async () => {
    serve(201, { name: 'web' })
    type('name', 'web')
    type('image', 'nginx:1.27')
    type('env', 'A=1')
    await submit()
    expect(sent).toEqual([{ url: '/api/v1/projects/shop/apps', body: { name: 'web', image: 'nginx:1.27', port: 8080, replicas: 1, env: { A: '1' } } }])
    expect(deployed).toEqual(['web'])
    expect(field('name').value).toBe('') // cleared for the next one
  })

  it("puts a server 400 on the field it names", async () => {
    serve(400, { error: '--memory takes a quantity such as 250m, 1.5 or 512Mi, not "lots"' })
    type('name', 'web')
    type('image', 'nginx')
    await submit()
    expect(sent).toHaveLength(1)
    expect(host.querySelector('#deploy-memory-error')?.textContent).toContain('--memory takes a quantity')
    expect(deployed).toEqual([])
  })

  it('shows other failures above the buttons', async () => {
    serve(403, { error: 'you may not deploy apps in project shop', hint: 'ask an owner' })
    type('name', 'web')
    type('image', 'nginx')
    await submit()
    expect(host.querySelector('[data-testid="deploy-error"]')?.textContent).toBe('you may not deploy apps in project shop (ask an owner)')
  })
})
