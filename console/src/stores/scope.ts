// SPDX-License-Identifier: Apache-2.0
// The projects the user can see and the project/environment the Apps and Services views work in
// (remembered for the session, so moving between views keeps the selection).
import { defineStore } from 'pinia'
import { listProjects } from '../api/projects'
import type { ProjectView } from '../api/types'

export const useScope = defineStore('scope', {
  state: () => ({
    projects: [] as ProjectView[],
    loaded: false,
    loading: false,
    project: '' as string,
    environment: '' as string,
  }),
  getters: {
    current: (s): ProjectView | undefined => s.projects.find((p) => p.name === s.project),
    environments(): string[] {
      return this.current?.environments.map((e) => e.name) ?? []
    },
    /** the role the user has in the selected project */
    role(): string | undefined {
      return this.current?.role
    },
    canWrite(): boolean {
      return this.role === 'owner' || this.role === 'deployer'
    },
    isOwner(): boolean {
      return this.role === 'owner'
    },
    /** ?environment= for the API: only when the project has several environments */
    envParam(): string | undefined {
      return this.environments.length > 1 && this.environment ? this.environment : undefined
    },
  },
  actions: {
    async load(force = false): Promise<void> {
      if (this.loaded && !force) return
      this.loading = true
      try {
        this.projects = await listProjects()
        this.loaded = true
        if (!this.projects.some((p) => p.name === this.project)) this.select(this.projects[0]?.name ?? '')
      } finally {
        this.loading = false
      }
    },
    select(project: string, environment?: string): void {
      this.project = project
      const envs = this.environments
      if (environment && envs.includes(environment)) this.environment = environment
      else if (!envs.includes(this.environment)) this.environment = envs.includes('default') ? 'default' : (envs[0] ?? '')
    },
    reset(): void {
      this.projects = []
      this.loaded = false
      this.project = ''
      this.environment = ''
    },
  },
})
