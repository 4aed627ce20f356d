// SPDX-License-Identifier: Apache-2.0
// Projects: list, create and delete (admin), one project, its members (owner).
import { api, seg } from './client'
import type { ItemList, Member, ProjectCreate, ProjectView } from './types'

export const listProjects = async (): Promise<ProjectView[]> =>
  (await api.get<ItemList<ProjectView>>('/projects')).items
export const getProject = (project: string): Promise<ProjectView> => api.get<ProjectView>(`/projects/${seg(project)}`)
export const createProject = (body: ProjectCreate): Promise<ProjectView> => api.post<ProjectView>('/projects', body)
export const setMembers = (project: string, members: Member[]): Promise<ProjectView> =>
  api.put<ProjectView>(`/projects/${seg(project)}/members`, { members })
export const deleteProject = (project: string): Promise<void> => api.del(`/projects/${seg(project)}`)
