// SPDX-License-Identifier: Apache-2.0
// TypeScript shapes of every kipperd /api/v1 request and response the console uses, as written in
// the API contract (times are RFC 3339 UTC strings; lists come wrapped as {items}).

export type GlobalRole = 'admin' | 'deployer' | 'viewer'
export type ProjectRole = 'owner' | 'deployer' | 'viewer'

export interface ErrorBody {
  error: string
  hint?: string
}

export interface ItemList<T> {
  items: T[]
}

// Auth
export interface LoginRequest {
  email: string
  password: string
}
export interface SessionUser {
  email: string
  role: GlobalRole
}
export interface LoginResponse {
  token: string
  expires_at: string
  user: SessionUser
}
export interface Me {
  email: string
  role: GlobalRole
  created_at: string
  updated_at: string
  expires_at: string
}
export interface PasswordChange {
  current: string
  new: string
}

// Meta
export interface VersionInfo {
  version: string
}
export type OpenApiDocument = Record<string, unknown> & { openapi: string; paths: Record<string, unknown> }

// Cluster
export interface ClusterNode {
  name: string
  ready: boolean
  /** "Ready" | "NotReady", with ",SchedulingDisabled" when cordoned */
  status?: string
  unschedulable?: boolean
  roles: string[]
  kubelet_version: string
  internal_ip: string
  cpu: string
  memory: string
  created_at: string
}
export interface ClusterComponent {
  name: string
  namespace: string
  kind: string
  ready: boolean
  replicas: number
  ready_replicas: number
  /** false: an expected component that is not installed (does not make the cluster unhealthy) */
  installed?: boolean
  message?: string
}
export interface ClusterInfo {
  cluster_id: string
  zone: string
  kipperd_version: string
  kubernetes_version: string
  issuer?: string
  healthy: boolean
  nodes: ClusterNode[]
  components: ClusterComponent[]
}
export interface Dashboard {
  projects: number
  apps: { total: number; ready: number; progressing: number; failed: number }
  services: { total: number; ready: number }
  nodes: { total: number; ready: number }
  routes: number
  healthy: boolean
}

// Projects
export interface Quota {
  cpu?: string
  memory?: string
  pods?: number | string
}
export interface Member {
  email: string
  role: ProjectRole
}
export interface Condition {
  type: string
  status: string
  reason?: string
  message?: string
  last_transition_time?: string
}
export interface ProjectEnvironment {
  name: string
  namespace: string
  quota?: Quota | null
}
export interface ProjectView {
  name: string
  role: ProjectRole
  environments: ProjectEnvironment[]
  members: Member[]
  apps: number
  services: number
  ready: boolean
  conditions: Condition[]
  created_at: string
}
export interface ProjectCreate {
  name: string
  environments?: { name: string; quota?: Quota }[]
  members?: Member[]
}

// Apps
export type AppStatus = 'Ready' | 'Progressing' | 'Failed' | 'Scaled to zero' | 'Unknown'
export type AutotuneMode = 'off' | 'recommend' | 'auto'
export interface AppSpecBody {
  name: string
  image: string
  port?: number
  replicas?: number
  env?: Record<string, string>
  cpu?: string
  memory?: string
  domain?: string
  health_path?: string
  autotune?: { mode: AutotuneMode; max_memory?: string }
}
export interface AppSummary {
  name: string
  namespace: string
  environment: string
  image: string
  replicas: number
  ready_replicas: number
  status: AppStatus
  url: string | null
  created_at: string
}
export interface Pod {
  name: string
  phase: string
  ready: boolean
  restarts: number
  node: string
  started_at: string | null
  reason?: string
}
export interface KubeEvent {
  type: string
  reason: string
  message: string
  count: number
  last_seen: string
}
export interface Resources {
  requests?: { cpu?: string; memory?: string }
  limits?: { cpu?: string; memory?: string }
}
export interface Autotune {
  mode: AutotuneMode
  recommendation?: { cpu?: string; memory?: string } | null
  last_change?: string | null
}
export interface AppDetail extends AppSummary {
  port: number
  env: Record<string, string>
  secrets: string[]
  resources: Resources
  hosts: string[]
  conditions: Condition[]
  pods: Pod[]
  revision: number
  autotune: Autotune
  events: KubeEvent[]
}
export interface Revision {
  revision: number
  image: string
  created_at: string
  current: boolean
  change_cause?: string
}
export interface EnvUpdate {
  set?: Record<string, string>
  unset?: string[]
}

// Services
export interface CatalogEntry {
  type: string
  description: string
  image?: string
  versions: string[]
  default_version: string
  port?: number
  ports?: { name: string; port: number }[]
  /** default storage size */
  storage?: string
}
export interface ServiceCreate {
  name: string
  type: string
  version?: string
  storage?: string
  [extra: string]: unknown
}
export interface ServiceView {
  name: string
  namespace: string
  environment: string
  type: string
  version: string
  ready: boolean
  status: string
  host: string
  port: number
  secret: string
  storage: string
  conditions: Condition[]
  created_at: string
}
export interface ServiceCredentials {
  username?: string
  password?: string
  database?: string
  host: string
  port: number
  uri: string
  secret: string
}

// Routes
export interface RouteTls {
  enabled: boolean
  secret?: string
  ready: boolean
  issuer?: string
  message?: string
}
export interface RouteView {
  host: string
  url: string
  project: string
  environment: string
  namespace: string
  app: string
  service?: string
  /** backend port number or name */
  port?: number | string
  /** the Ingress name */
  ingress?: string
  tls: RouteTls
}

// Users
export interface UserView {
  email: string
  role: GlobalRole
  created_at: string
  updated_at: string
}
export interface UserCreate {
  email: string
  role: GlobalRole
  password?: string
}
export interface UserCreated {
  user: UserView
  password?: string
}
