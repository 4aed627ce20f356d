// SPDX-License-Identifier: Apache-2.0
// Starts a whole local Kipper for the browser tests: the real `kip sandbox up` (sandbox API,
// kipperd serving the built console, kipper-gateway) in a temporary KIP_HOME on free loopback
// ports, reads the console's address and admin login from its summary, runs other kip commands
// against it, and stops it with SIGINT (SIGKILL after 30 s). Uses node:child_process and node:net.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A listening server on a free TCP port of 127.0.0.1 (the kernel's pick). */
function listenFree() {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => resolve(srv))
  })
}

/**
 * n distinct free TCP ports on 127.0.0.1: all held at once, then released (picked one by one and
 * released, the kernel may hand the same port out twice).
 * @param {number} n
 * @returns {Promise<number[]>}
 */
export async function freePorts(n) {
  const servers = []
  try {
    for (let i = 0; i < n; i++) servers.push(await listenFree())
    return servers.map((srv) => srv.address().port)
  } finally {
    await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(() => resolve()))))
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/**
 * Starts `kip sandbox up`; resolves once its summary is printed.
 * @param {{kip: string, consoleDir: string, timeoutMs?: number}} opts
 * @returns {Promise<{url: string, gatewayUrl: string, email: string, password: string, home: string,
 *   kip: (args: string[], input?: string) => {status: number, stdout: string, stderr: string},
 *   output: () => string, stop: () => Promise<number|null>}>}
 */
export async function startSandbox({ kip, consoleDir, timeoutMs = 90_000 }) {
  const home = mkdtempSync(join(tmpdir(), 'kip-console-e2e-'))
  const [api, kipperd, gateway, gatewayApi] = await freePorts(4)
  const env = { ...process.env, KIP_HOME: home, KIP_CONSOLE_DIR: consoleDir }
  delete env.KIP_CLUSTER
  const child = spawn(kip, ['sandbox', 'up', '--listen', `127.0.0.1:${api}`, '--kipperd-listen', `127.0.0.1:${kipperd}`,
    '--gateway-listen', `127.0.0.1:${gateway}`, '--gateway-api-listen', `127.0.0.1:${gatewayApi}`],
  { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { out += d })
  let exited = null
  const exit = new Promise((resolve) => child.on('exit', (code, signal) => { exited = { code, signal }; resolve(code) }))
  const deadline = Date.now() + timeoutMs
  while (!out.includes("Kipper's sandbox is up") && exited === null && Date.now() < deadline) await sleep(100)
  const stop = async () => {
    if (exited === null) {
      child.kill('SIGINT')
      const timer = setTimeout(() => { if (exited === null) child.kill('SIGKILL') }, 30_000)
      await exit
      clearTimeout(timer)
    }
    if (!process.env.KIP_E2E_KEEP) rmSync(home, { recursive: true, force: true })
    return exited.code
  }
  if (!out.includes("Kipper's sandbox is up")) {
    await stop()
    throw new Error(`kip sandbox up did not start:\n${out}`)
  }
  const url = out.match(/console:\s+(http:\/\/\S+\/)/)?.[1]
  const gatewayUrl = out.match(/\(also (http:\/\/\S+\/) through the gateway\)/)?.[1]
  const login = out.match(/login:\s+(\S+)\s+password: (\S+)/)
  if (!url || !login) {
    await stop()
    throw new Error(`kip sandbox up printed no console address or login (is the console built in ${consoleDir}?):\n${out}`)
  }
  return {
    url, gatewayUrl, email: login[1], password: login[2], home,
    kip: (args, input) => {
      const r = spawnSync(kip, args, { env, input: input ?? '', encoding: 'utf8', timeout: 60_000 })
      return { status: r.status, stdout: r.stdout, stderr: r.stderr }
    },
    output: () => out,
    log: (name) => { try { return readFileSync(join(home, 'sandbox', name), 'utf8') } catch { return '' } },
    stop,
  }
}
