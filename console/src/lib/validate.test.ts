// SPDX-License-Identifier: Apache-2.0
// Form validation: the deploy form's field errors and request body, env lines, replicas, the
// service and user forms, and mapping a server 400 to the field it names.
import { describe, expect, it } from 'vitest'
import {
  emptyDeployForm,
  fieldOfServerError,
  isQuantity,
  parseEnvLines,
  validateDeploy,
  validateReplicas,
  validateService,
  validateUser,
  validateLogin,
} from './validate'

describe('validateDeploy', () => {
  it('builds the body from a valid form', () => {
    const r = validateDeploy({
      ...emptyDeployForm(),
      name: 'api',
      image: 'nginx:1.27',
      port: '80',
      replicas: '0',
      env: 'A=1\n# comment\n\nB=x=y',
      cpu: '250m',
      memory: '256Mi',
      domain: 'api.example.com',
      health_path: '/healthz',
      autotune: 'auto',
      max_memory: '2Gi',
    })
    expect(r).toEqual({
      ok: true,
      value: {
        name: 'api',
        image: 'nginx:1.27',
        port: 80,
        replicas: 0,
        env: { A: '1', B: 'x=y' },
        cpu: '250m',
        memory: '256Mi',
        domain: 'api.example.com',
        health_path: '/healthz',
        autotune: { mode: 'auto', max_memory: '2Gi' },
      },
    })
  })

  it('leaves optional fields out and autotune off', () => {
    const r = validateDeploy({ ...emptyDeployForm(), name: 'a', image: 'x', port: '', replicas: '' })
    expect(r).toEqual({ ok: true, value: { name: 'a', image: 'x' } })
  })

  it('names every bad field', () => {
    const r = validateDeploy({
      ...emptyDeployForm(),
      name: 'Bad_Name',
      image: 'has space',
      port: '70000',
      replicas: '-1',
      env: 'NOEQUALS',
      cpu: 'lots',
      memory: '1 GB',
      domain: 'Example.COM',
      health_path: 'healthz',
      autotune: 'recommend',
      max_memory: 'big',
    })
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(Object.keys(r.errors).sort()).toEqual(
      ['cpu', 'domain', 'env', 'health_path', 'image', 'max_memory', 'memory', 'name', 'port', 'replicas'].sort(),
    )
    expect(r.errors.env).toBe('line 1: use KEY=VALUE')
  })

  it('requires name and image', () => {
    const r = validateDeploy(emptyDeployForm())
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.errors).toMatchObject({ name: 'App name is required', image: expect.stringContaining('required') })
  })

  it('rejects names longer than 63 or ending in -', () => {
    for (const name of ['a'.repeat(64), 'web-', '-web', '1.2']) {
      expect(validateDeploy({ ...emptyDeployForm(), name, image: 'x' }).ok).toBe(false)
    }
  })
})

describe('helpers', () => {
  it('isQuantity follows Kubernetes quantities', () => {
    for (const q of ['1', '250m', '1.5', '512Mi', '2Gi', '.5', '1e3']) expect(isQuantity(q)).toBe(true)
    for (const q of ['', 'm', '1 Gi', '1GB', 'abc', '1.2.3']) expect(isQuantity(q)).toBe(false)
  })
  it('parseEnvLines rejects invalid names with the line number', () => {
    expect(parseEnvLines('A=1\n9X=2').error).toBe('line 2: invalid variable name "9X"')
    expect(parseEnvLines('=1').error).toBe('line 1: use KEY=VALUE')
  })
  it('validateReplicas', () => {
    expect(validateReplicas('3')).toEqual({ ok: true, value: 3 })
    expect(validateReplicas('0')).toEqual({ ok: true, value: 0 })
    expect(validateReplicas('1.5').ok).toBe(false)
    expect(validateReplicas('').ok).toBe(false)
    expect(validateReplicas('10001').ok).toBe(false)
  })
  it('validateService', () => {
    expect(validateService({ name: 'db', type: 'postgres', version: '16', storage: '1Gi' })).toEqual({
      ok: true,
      value: { name: 'db', type: 'postgres', version: '16', storage: '1Gi' },
    })
    const r = validateService({ name: '', type: '', version: '', storage: 'x' })
    expect(r.ok ? [] : Object.keys(r.errors).sort()).toEqual(['name', 'storage', 'type'])
  })
  it('validateUser lowercases the e-mail and checks the password length', () => {
    expect(validateUser({ email: ' Ann@Example.com ', role: 'deployer', password: '' })).toEqual({
      ok: true,
      value: { email: 'ann@example.com', role: 'deployer' },
    })
    const r = validateUser({ email: 'nope', role: 'root' as never, password: 'short' })
    expect(r.ok ? [] : Object.keys(r.errors).sort()).toEqual(['email', 'password', 'role'])
  })
  it('validateLogin', () => {
    expect(validateLogin('', '')).toEqual({ email: 'E-mail is required', password: 'Password is required' })
    expect(validateLogin('a@b', 'x')).toEqual({})
  })
  it('fieldOfServerError finds the field a kip usage error names', () => {
    expect(fieldOfServerError('--port takes a whole number from 1 to 65535, not "0"')).toBe('port')
    expect(fieldOfServerError('--max-memory takes a quantity such as 250m, 1.5 or 512Mi, not "x"')).toBe('max_memory')
    expect(fieldOfServerError('--memory takes a quantity such as 250m, 1.5 or 512Mi, not "x"')).toBe('memory')
    expect(fieldOfServerError('invalid environment variable name "9"')).toBe('env')
    expect(fieldOfServerError('invalid app name "Bad": use lowercase letters')).toBe('name')
    expect(fieldOfServerError('quota exceeded')).toBeNull()
  })
})

describe('userFieldOfServerError', () => {
  it('reads the field prefix of POST /users errors', async () => {
    const { userFieldOfServerError } = await import('./validate')
    expect(userFieldOfServerError('email: not an e-mail address')).toBe('email')
    expect(userFieldOfServerError('password: too short')).toBe('password')
    expect(userFieldOfServerError('user exists')).toBeNull()
  })
})
