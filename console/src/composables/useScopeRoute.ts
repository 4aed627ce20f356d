// SPDX-License-Identifier: Apache-2.0
// Keeps the URL (/BASE/PROJECT[/ITEM]?environment=ENV) and the scope store in agreement for the
// views of one project's things (Apps, Services): the URL's project is selected when the user may
// see it, else the URL moves to the selected project.
import { useRoute, useRouter } from 'vue-router'
import { useScope } from '../stores/scope'

export function useScopeRoute(base: string) {
  const scope = useScope()
  const route = useRoute()
  const router = useRouter()

  /** The location of the selected project (and of one item in it). */
  function target(item?: string) {
    const path = `/${base}/${encodeURIComponent(scope.project)}${item ? `/${encodeURIComponent(item)}` : ''}`
    return { path, query: scope.envParam ? { environment: scope.envParam } : {} }
  }

  /** Loads the projects (throws when that fails) and selects the URL's project; false when the URL
   * moved instead (the route watcher syncs again), true when the view should load. */
  async function sync(): Promise<boolean> {
    await scope.load()
    const p = typeof route.params.project === 'string' ? route.params.project : ''
    const env = typeof route.query.environment === 'string' ? route.query.environment : undefined
    if (p && scope.projects.some((x) => x.name === p)) scope.select(p, env)
    else if (scope.project) {
      await router.replace(target())
      return false
    }
    return true
  }

  return { target, sync }
}
