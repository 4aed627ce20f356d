// SPDX-License-Identifier: Apache-2.0
// Client-side checks for the console's forms, the same rules `kip app deploy`, `kip service
// create` and `kip user add` apply (the server checks again; these give field errors at once).
// Each validator returns the request body, or field errors keyed by the form field's name.
import type { AppSpecBody, AutotuneMode, GlobalRole, ServiceCreate, UserCreate } from '../api/types'

export type FieldErrors = Record<string, string>
export type Checked<T> = { ok: true; value: T } | { ok: false; errors: FieldErrors }

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const QUANTITY = /^[+-]?(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/
const EMAIL = /^[^\s@]+@[^\s@]+$/

/** A DNS label (apps, services, projects): lowercase letters, digits and '-', at most 63. */
export function labelError(what: string, name: string): string | null {
  if (!name) return `${what} name is required`
  if (name.length > 63) return `${what} name is at most 63 characters`
  if (!LABEL.test(name)) return `${what} name: lowercase letters, digits and '-', starting and ending with a letter or digit`
  return null
}

export const isQuantity = (s: string): boolean => QUANTITY.test(s)

export function isHost(host: string): boolean {
  if (host.length > 253) return false
  return host.split('.').every((l) => l.length > 0 && l.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(l))
}

/** Parses "KEY=VALUE" lines (blank lines and # comments skipped). */
export function parseEnvLines(text: string): { env: Record<string, string>; error: string | null } {
  const env: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim()
    if (!line || line.startsWith('#')) continue
    const eq = line.indexOf('=')
    if (eq <= 0) return { env, error: `line ${i + 1}: use KEY=VALUE` }
    const key = line.slice(0, eq).trim()
    if (!ENV_NAME.test(key)) return { env, error: `line ${i + 1}: invalid variable name "${key}"` }
    env[key] = line.slice(eq + 1)
  }
  return { env, error: null }
}

function wholeNumber(text: string, min: number, max: number): number | null {
  if (!/^\d+$/.test(text.trim())) return null
  const n = Number(text)
  return n >= min && n <= max ? n : null
}

/** The deploy form's fields, all as typed (strings). */
export interface DeployForm {
  name: string
  image: string
  port: string
  replicas: string
  env: string
  cpu: string
  memory: string
  domain: string
  health_path: string
  autotune: AutotuneMode
  max_memory: string
}

export const emptyDeployForm = (): DeployForm => ({
  name: '',
  image: '',
  port: '8080',
  replicas: '1',
  env: '',
  cpu: '',
  memory: '',
  domain: '',
  health_path: '',
  autotune: 'off',
  max_memory: '',
})

export function validateDeploy(f: DeployForm): Checked<AppSpecBody> {
  const errors: FieldErrors = {}
  const body: AppSpecBody = { name: f.name.trim(), image: f.image.trim() }
  const nameErr = labelError('App', body.name)
  if (nameErr) errors.name = nameErr
  if (!body.image) errors.image = 'Image is required, e.g. nginx:1.27'
  else if (/\s/.test(body.image)) errors.image = 'Image reference has no spaces'
  if (f.port.trim()) {
    const p = wholeNumber(f.port, 1, 65535)
    if (p === null) errors.port = 'Port is a whole number from 1 to 65535'
    else body.port = p
  }
  if (f.replicas.trim()) {
    const r = wholeNumber(f.replicas, 0, 10000)
    if (r === null) errors.replicas = 'Replicas is a whole number from 0 to 10000'
    else body.replicas = r
  }
  if (f.env.trim()) {
    const { env, error } = parseEnvLines(f.env)
    if (error) errors.env = error
    else body.env = env
  }
  for (const k of ['cpu', 'memory'] as const) {
    const v = f[k].trim()
    if (!v) continue
    if (!isQuantity(v)) errors[k] = `${k === 'cpu' ? 'CPU' : 'Memory'} takes a quantity such as ${k === 'cpu' ? '250m or 1' : '512Mi'}`
    else body[k] = v
  }
  const domain = f.domain.trim()
  if (domain) {
    if (!isHost(domain)) errors.domain = 'Domain is a lowercase host name such as api.example.com'
    else body.domain = domain
  }
  const hp = f.health_path.trim()
  if (hp) {
    if (!hp.startsWith('/')) errors.health_path = 'Health path starts with /'
    else body.health_path = hp
  }
  if (f.autotune !== 'off' || f.max_memory.trim()) {
    body.autotune = { mode: f.autotune }
    const mm = f.max_memory.trim()
    if (mm) {
      if (!isQuantity(mm)) errors.max_memory = 'Memory cap takes a quantity such as 2Gi'
      else body.autotune.max_memory = mm
    }
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: body }
}

export function validateReplicas(text: string): { ok: true; value: number } | { ok: false; error: string } {
  const n = wholeNumber(text, 0, 10000)
  return n === null ? { ok: false, error: 'Replicas is a whole number from 0 to 10000' } : { ok: true, value: n }
}

export interface ServiceForm {
  name: string
  type: string
  version: string
  storage: string
}

export function validateService(f: ServiceForm): Checked<ServiceCreate> {
  const errors: FieldErrors = {}
  const body: ServiceCreate = { name: f.name.trim(), type: f.type }
  const nameErr = labelError('Service', body.name)
  if (nameErr) errors.name = nameErr
  if (!f.type) errors.type = 'Choose a service type from the catalog'
  if (f.version) body.version = f.version
  const st = f.storage.trim()
  if (st) {
    if (!isQuantity(st)) errors.storage = 'Storage takes a quantity such as 1Gi'
    else body.storage = st
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: body }
}

export interface UserForm {
  email: string
  role: GlobalRole
  password: string
}

export function validateUser(f: UserForm): Checked<UserCreate> {
  const errors: FieldErrors = {}
  const body: UserCreate = { email: f.email.trim().toLowerCase(), role: f.role }
  if (!EMAIL.test(body.email)) errors.email = 'Enter an e-mail address such as ann@example.com'
  if (!['admin', 'deployer', 'viewer'].includes(f.role)) errors.role = 'Role is admin, deployer or viewer'
  if (f.password) {
    if (f.password.length < 8) errors.password = 'Password has at least 8 characters (or leave it empty to generate one)'
    else body.password = f.password
  }
  return Object.keys(errors).length ? { ok: false, errors } : { ok: true, value: body }
}

export function validateLogin(email: string, password: string): FieldErrors {
  const errors: FieldErrors = {}
  if (!email.trim()) errors.email = 'E-mail is required'
  if (!password) errors.password = 'Password is required'
  return errors
}

// most specific first: "name" appears in many messages
const DEPLOY_FIELDS = ['image', 'port', 'replicas', 'cpu', 'memory', 'domain', 'health_path', 'max_memory', 'autotune', 'env', 'name']

/**
 * Which deploy field a server 400 is about: its message names the field as "--port", "port" or
 * "health_path" (kip's usage errors); null when it names none.
 */
export function fieldOfServerError(message: string): string | null {
  const m = message.toLowerCase()
  if (m.includes('environment variable')) return 'env'
  for (const f of DEPLOY_FIELDS) {
    const flag = f.replace('_', '-')
    if (m.includes(`--${flag}`) || new RegExp(`(^|[^a-z_-])(${f}|${flag})([^a-z_-]|$)`).test(m)) return f
  }
  return null
}

/** Which field a POST /users 400 names: its message starts with "email: ", "role: " or "password: ". */
export function userFieldOfServerError(message: string): keyof UserForm | null {
  const m = /^(email|role|password):/.exec(message)
  return m ? (m[1] as keyof UserForm) : null
}
