// SPDX-License-Identifier: Apache-2.0
// The console's routes (history mode: kipperd answers index.html for every non-API path) and the
// guard that restores the session from the refresh cookie once, sends signed-out users to Login
// with ?redirect=, and keeps non-admins out of Users.
import { createRouter, createWebHistory, type RouteLocationNormalized, type Router } from 'vue-router'
import { useSession } from './stores/session'
import { useToasts } from './stores/toasts'

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean
    admin?: boolean
    title?: string
  }
}

export function makeRouter(): Router {
  const router = createRouter({
    history: createWebHistory(),
    routes: [
      { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true, title: 'Sign in' } },
      { path: '/', name: 'dashboard', component: () => import('./views/DashboardView.vue'), meta: { title: 'Dashboard' } },
      { path: '/projects', name: 'projects', component: () => import('./views/ProjectsView.vue'), meta: { title: 'Projects' } },
      { path: '/apps/:project?/:app?', name: 'apps', component: () => import('./views/AppsView.vue'), meta: { title: 'Apps' } },
      { path: '/services/:project?', name: 'services', component: () => import('./views/ServicesView.vue'), meta: { title: 'Services' } },
      { path: '/routes', name: 'routes', component: () => import('./views/RoutesView.vue'), meta: { title: 'Routes' } },
      { path: '/users', name: 'users', component: () => import('./views/UsersView.vue'), meta: { admin: true, title: 'Users' } },
      { path: '/account', name: 'account', component: () => import('./views/AccountView.vue'), meta: { title: 'Account' } },
      { path: '/:rest(.*)*', name: 'not-found', component: () => import('./views/NotFoundView.vue'), meta: { title: 'Not found' } },
    ],
  })
  router.beforeEach(guard)
  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · Kipper` : 'Kipper'
  })
  return router
}

export async function guard(to: RouteLocationNormalized) {
  const session = useSession()
  await session.restore()
  if (to.meta.public) {
    if (to.name === 'login' && session.signedIn) return safeRedirect(to.query.redirect)
    return true
  }
  if (!session.signedIn) return { name: 'login', query: { redirect: to.fullPath } }
  if (to.meta.admin && !session.isAdmin) {
    useToasts().push('error', 'Only admins can manage users')
    return { name: 'dashboard' }
  }
  return true
}

/** Only same-site paths are followed after login (no open redirect). */
export function safeRedirect(r: unknown): string {
  return typeof r === 'string' && r.startsWith('/') && !r.startsWith('//') ? r : '/'
}
