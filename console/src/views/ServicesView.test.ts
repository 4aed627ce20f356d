// SPDX-License-Identifier: Apache-2.0
// The real ServicesView against a fake fetch: "Show connection details" is offered only to the
// project's owners (an admin's project role is owner; a global admin counts as one anyway), never
// to deployers or viewers; an owner who still gets a 403 (the role changed meanwhile) is told why.
// Deleting asks first, sends delete_data when ticked, then closes the dialog and clears the tick.
import { afterEach, describe, expect, it } from 'vitest'
import { createApp, h, type App } from 'vue'
import { createPinia, setActivePinia } from 'pinia'
import { RouterView, createMemoryHistory, createRouter } from 'vue-router'
import ServicesView from './ServicesView.vue'
import { api } from '../api/client'
import { useSession } from '../stores/session'

let app: App | null = null
let host: HTMLElement
let asked: string[]

const service = { name: 'db', namespace: 'shop', environment: 'default', type: 'postgres', version: '17', ready: true,
  status: 'Ready', host: 'db.shop.svc.cluster.local', port: 5432, secret: 'db-credentials', storage: '1Gi', conditions: [],
  created_at: '2026-01-01T00:00:00Z' }

function serve(role: string, credentials: { status: number; body: unknown }) {
  asked = []
  api.setFetch(async (url) => {
    const path = String(url).replace(/\?.*$/, '')
    asked.push(path)
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status })
    if (path === '/api/v1/projects') {
      return json(200, { items: [{ name: 'shop', role, environments: [{ name: 'default', namespace: 'shop' }], members: [],
        apps: 0, services: 1, ready: true, conditions: [], created_at: '2026-01-01T00:00:00Z' }] })
    }
    if (path === '/api/v1/catalog') return json(200, { items: [] })
    if (path === '/api/v1/projects/shop/services') return json(200, { items: [service] })
    if (path === '/api/v1/projects/shop/services/db/credentials') return json(credentials.status, credentials.body)
    return json(404, { error: `no ${path}` })
  })
}

async function settle() {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0))
}

async function mount(globalRole = 'viewer') {
  host = document.createElement('div')
  document.body.append(host)
  const pinia = createPinia()
  setActivePinia(pinia)
  useSession().user = { email: 'someone@example.com', role: globalRole } as never
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/services/:project?', component: ServicesView }] })
  await router.push('/services/shop')
  app = createApp({ render: () => h(RouterView) })
  app.use(pinia)
  app.use(router)
  app.mount(host)
  await settle()
}
const q = (id: string) => host.querySelector(`[data-testid="${id}"]`) as HTMLElement | null

afterEach(() => {
  app?.unmount()
  app = null
  document.body.innerHTML = ''
  api.setFetch(undefined)
})

describe('ServicesView connection details', () => {
  it('are not offered to project viewers and deployers', async () => {
    for (const role of ['viewer', 'deployer']) {
      serve(role, { status: 403, body: { error: 'reading service credentials needs the owner role' } })
      await mount(role)
      expect(q('service-row-db'), role).not.toBeNull()
      expect(q('service-reveal-db'), role).toBeNull()
      expect(asked).not.toContain('/api/v1/projects/shop/services/db/credentials')
      app?.unmount()
      app = null
    }
  })

  it('are offered to owners and shown on request', async () => {
    serve('owner', { status: 200, body: { username: 'app', password: 's3cret', host: 'db', port: 5432, uri: 'postgres://x', secret: 'db-credentials' } })
    await mount()
    q('service-reveal-db')!.click()
    await settle()
    expect(q('service-credentials-db')?.textContent).toContain('s3cret')
    expect(q('service-hide-db')).not.toBeNull()
  })

  it('are offered to a global admin, whatever the project role says', async () => {
    serve('viewer', { status: 200, body: { host: 'db', port: 5432, uri: 'postgres://x', secret: 'db-credentials' } })
    await mount('admin')
    expect(q('service-reveal-db')).not.toBeNull()
  })

  it('explain a 403 that still happens', async () => {
    serve('owner', { status: 403, body: { error: 'reading service credentials needs the owner role in project shop' } })
    await mount()
    q('service-reveal-db')!.click()
    await settle()
    const denied = q('credentials-denied')
    expect(denied?.textContent).toContain("for the project's owners and admins only")
    expect(denied?.textContent).toContain('needs the owner role in project shop')
  })
})

describe('ServicesView delete', () => {
  it('asks, deletes with the data when ticked, closes the dialog and clears the tick', async () => {
    const deletes: string[] = []
    api.setFetch(async (url, init) => {
      const u = String(url)
      const path = u.replace(/\?.*$/, '')
      const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status })
      if (init?.method === 'DELETE') {
        deletes.push(u)
        return new Response(null, { status: 204 })
      }
      if (path === '/api/v1/projects') {
        return json(200, { items: [{ name: 'shop', role: 'deployer', environments: [{ name: 'default', namespace: 'shop' }],
          members: [], apps: 0, services: 1, ready: true, conditions: [], created_at: '2026-01-01T00:00:00Z' }] })
      }
      if (path === '/api/v1/catalog') return json(200, { items: [] })
      if (path === '/api/v1/projects/shop/services') return json(200, { items: [service] })
      return json(404, { error: `no ${path}` })
    })
    await mount('deployer')
    const dialog = (id: string) => document.querySelector(`[data-testid="${id}"]`) as HTMLInputElement | null
    q('service-delete-db')!.click()
    await settle()
    expect(dialog('confirm-dialog')?.textContent).toContain('Delete service db?')
    dialog('service-delete-data')!.click()
    dialog('confirm-ok')!.click()
    await settle()
    expect(deletes).toHaveLength(1)
    expect(deletes[0]).toMatch(/^\/api\/v1\/projects\/shop\/services\/db\?.*delete_data=true/)
    expect(dialog('confirm-dialog')).toBeNull()
    q('service-delete-db')!.click()
    await settle()
    expect(dialog('service-delete-data')!.checked).toBe(false)
  })
})
