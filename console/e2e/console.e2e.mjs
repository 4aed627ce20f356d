#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// The console's browser end-to-end test: Debian's chromium (headless, driven by playwright-core,
// never a downloaded browser) against a whole local Kipper started with `kip sandbox up`
// (e2e/sandbox.mjs) serving the built console. One scenario, step by step: log in, create a
// project, deploy an app and see it Ready (the detail panel follows it without a reload), follow
// its live logs and see lines arrive, scale it, create a service, see kipperd on the dashboard as
// running outside the cluster, look at routes (environment "default"), add a viewer, toggle dark
// mode, delete the app, and check that the viewer is refused a deploy (no deploy button, and 403
// from the API) and is not offered a service's connection details. Logging in, opening a view
// from the sidebar, deploying and confirming the delete are done with the keyboard only
// (e2e/keyboard.mjs: visible focus, the dialog's focus trap, Escape returning the focus), and
// every view is checked at phone, tablet and wide sizes (e2e/layout.mjs: no sideways scrolling,
// the phone's Menu button). A screenshot of each view (and of the Apps view and its menu on a
// phone) goes to OUT/screenshots; any CSP violation or page error fails the test.
//
// Usage: node e2e/console.e2e.mjs [--update-docs]
//   KIP_BIN          the kip to run (default ../build/bin/kip)
//   KIP_CONSOLE_DIR  the built console (default: console/ beside KIP_BIN's bin/)
//   KIP_E2E_OUT      where screenshots and logs go (default ./e2e-out)
//   CHROMIUM         the browser (default /usr/bin/chromium)
//   --update-docs    also copies the screenshots to docs/images/console/ for docs/console.md
//   --via-gateway    opens the console through kipper-gateway (http://127-0-0-1.localhost:PORT/)
// Exit status: 0 passed, 1 failed, 77 cannot run here (no chromium, playwright-core or console).
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startSandbox } from './sandbox.mjs'
import { checkLayout, layoutProblems, resize } from './layout.mjs'
import { checkFocusTrap, focused, tabTo } from './keyboard.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
const REPO = resolve(HERE, '../..')
const KIP = resolve(process.env.KIP_BIN ?? join(REPO, 'build/bin/kip'))
const CONSOLE_DIR = resolve(process.env.KIP_CONSOLE_DIR ?? join(dirname(KIP), '../console'))
const OUT = resolve(process.env.KIP_E2E_OUT ?? 'e2e-out')
const SHOTS = join(OUT, 'screenshots')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const DOCS_IMAGES = join(REPO, 'docs/images/console')
const STEP_TIMEOUT = 60_000
const VIA_GATEWAY = process.argv.includes('--via-gateway')

function cannotRun(why) {
  console.log(`SKIP console.e2e: ${why}`)
  process.exit(77)
}

if (!existsSync(CHROMIUM)) cannotRun(`${CHROMIUM} is missing (Debian package chromium; scripts/deps.sh installs it)`)
if (!existsSync(KIP)) cannotRun(`${KIP} is missing: build kip first`)
if (!existsSync(join(CONSOLE_DIR, 'index.html'))) cannotRun(`no built console in ${CONSOLE_DIR} (build it: make)`)
let chromium
try {
  ;({ chromium } = await import('playwright-core'))
} catch (e) {
  cannotRun(`playwright-core is not installed (npm ci in console/): ${e.message}`)
}

mkdirSync(SHOTS, { recursive: true })
const problems = [] // CSP violations, page errors
let sb, browser, page
let n = 0
let failed = false
const skipped = [] // steps left out because kipperd lacks what they need (said in the summary)

// Runs one step; a failure is reported (with a screenshot) and the scenario goes on, unless the
// step is critical (later steps need what it does).
async function step(name, fn, { critical = false } = {}) {
  n++
  try {
    const skip = await fn()
    console.log(`ok ${n} - ${name}${typeof skip === 'string' ? ` # SKIP ${skip}` : ''}`)
    if (typeof skip === 'string') skipped.push(`${name}: ${skip}`)
  } catch (e) {
    failed = true
    console.log(`not ok ${n} - ${name}\n  ${String(e.stack ?? e).split('\n').join('\n  ')}`)
    if (page) await page.screenshot({ path: join(OUT, `failure-${n}.png`), fullPage: true }).catch(() => {})
    if (critical) throw e
  }
}

const tid = (id) => `[data-testid="${id}"]`
const shot = (name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })

async function login(email, password) {
  await page.goto(new URL('login', sb.url).href)
  await page.fill(tid('login-email'), email)
  await page.fill(tid('login-password'), password)
  await page.click(tid('login-submit'))
  await page.waitForSelector(tid('current-user'))
  const who = await page.textContent(tid('current-user'))
  if (!who.includes(email)) throw new Error(`signed in as ${who}, not ${email}`)
}

// True when kipperd's OpenAPI document has a path matching re.
async function apiHasPath(re) {
  const paths = await page.evaluate(async () => Object.keys((await (await fetch('/api/v1/openapi.json')).json()).paths ?? {}))
  return paths.some((p) => re.test(p))
}

async function nav(id) {
  await page.click(tid(`nav-${id}`))
}

// Polls fn() until it is truthy; returns its value.
async function until(what, fn, ms = STEP_TIMEOUT) {
  const deadline = Date.now() + ms
  let last
  for (;;) {
    try {
      last = await fn()
      if (last) return last
    } catch (e) {
      last = e.message
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last})`)
    await page.waitForTimeout(250)
  }
}

// At the phone size: a labelled Menu button (aria-expanded) opens and closes the navigation, and
// the open menu fits; screenshots of the Apps view and the open menu. Elsewhere no Menu button.
async function phoneMenu(size) {
  const menu = page.getByRole('button', { name: 'Menu' })
  const navLink = page.locator(tid('nav-dashboard'))
  if (size.name !== 'phone') {
    if (await menu.isVisible()) throw new Error(`a Menu button at ${size.width}px`)
    if (!(await navLink.isVisible())) throw new Error(`no sidebar at ${size.width}px`)
    return
  }
  if (!(await menu.isVisible())) throw new Error('no Menu button on the phone')
  if ((await menu.getAttribute('aria-expanded')) !== 'false') throw new Error('the menu starts open')
  if (await navLink.isVisible()) throw new Error('the navigation shows on the phone with the menu closed')
  await shot('phone-apps')
  await menu.click()
  if ((await menu.getAttribute('aria-expanded')) !== 'true') throw new Error('Menu did not say it opened (aria-expanded)')
  await navLink.waitFor({ state: 'visible', timeout: 5_000 })
  const open = await layoutProblems(page)
  if (open.length) throw new Error(`with the menu open: ${open.join('; ')}`)
  await page.screenshot({ path: join(SHOTS, 'phone-menu.png') })
  await menu.click()
  if ((await menu.getAttribute('aria-expanded')) !== 'false') throw new Error('Menu did not say it closed (aria-expanded)')
  await navLink.waitFor({ state: 'hidden', timeout: 5_000 })
}

const DESKTOP = { width: 1280, height: 800 }
const PROJECT = 'shop'
const APP = 'web'
const VIEWER = 'viewer@sandbox.local'
const VIEWER_PASSWORD = 'viewer-password-0123'

try {
  sb = await startSandbox({ kip: KIP, consoleDir: CONSOLE_DIR })
  if (VIA_GATEWAY) sb.url = sb.gatewayUrl
  console.log(`# console ${sb.url} (KIP_HOME ${sb.home})`)
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] })
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' })
  context.setDefaultTimeout(STEP_TIMEOUT)
  page = await context.newPage()
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`)
  })
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))

  await step('a signed-out visit goes to the login page', async () => {
    await page.goto(sb.url)
    await page.waitForSelector(tid('login-form'))
    if (!page.url().includes('/login')) throw new Error(`at ${page.url()}, not /login`)
    await shot('login')
  }, { critical: true })

  await step('the login page holds its layout from phone to wide screen', async () => {
    await checkLayout(page, 'Login')
    await resize(page, DESKTOP)
  })

  await step('a wrong password is refused', async () => {
    await page.fill(tid('login-email'), sb.email)
    await page.fill(tid('login-password'), 'not-the-password')
    await page.click(tid('login-submit'))
    await page.waitForSelector(tid('login-error'))
  })

  await step('the admin logs in with the keyboard only (Tab, typing, Enter) and sees the dashboard', async () => {
    await page.goto(new URL('login', sb.url).href)
    await page.waitForSelector(tid('login-form'))
    if ((await focused(page)).id !== 'login-email') await tabTo(page, 'login-email')
    await page.keyboard.type(sb.email)
    await tabTo(page, 'login-password', 1)
    await page.keyboard.type(sb.password)
    await page.keyboard.press('Enter')
    await page.waitForSelector(tid('current-user'))
    const who = await page.textContent(tid('current-user'))
    if (!who.includes(sb.email)) throw new Error(`signed in as ${who}, not ${sb.email}`)
    await page.waitForSelector(tid('count-projects'))
    await page.waitForSelector(tid('nodes-table'))
  }, { critical: true })

  await step('Tab moves through the sidebar, showing the focus, and Enter opens Projects', async () => {
    const passed = await tabTo(page, 'nav-projects')
    if (!passed.includes('nav-dashboard')) throw new Error(`Tab reached Projects without passing Dashboard: ${passed.join(', ')}`)
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/projects$/)
  }, { critical: true })

  await step('the admin creates a project', async () => {
    await page.waitForSelector(tid('project-name'))
    await page.fill(tid('project-name'), PROJECT)
    await page.click(tid('project-create'))
    await page.waitForSelector(tid(`project-row-${PROJECT}`))
    await shot('projects')
  }, { critical: true })

  await step('the admin deploys an app with the keyboard and sees it become Ready', async () => {
    await page.goto(new URL(`apps/${PROJECT}`, sb.url).href)
    await page.waitForSelector(`${tid('apps-table')}, ${tid('empty')}`)
    await tabTo(page, 'deploy-open')
    await page.keyboard.press('Enter')
    await page.waitForSelector(tid('deploy-form'))
    await tabTo(page, 'deploy-name', 5)
    await page.keyboard.type(APP)
    await tabTo(page, 'deploy-image', 1)
    await page.keyboard.type('nginxinc/nginx-unprivileged:1.27')
    await tabTo(page, 'deploy-port', 1)
    await page.keyboard.type('8080')
    await page.keyboard.press('Enter')
    await page.waitForSelector(tid(`app-row-${APP}`))
    await until(`${APP} to be Ready`, async () => {
      if ((await page.textContent(tid(`app-status-${APP}`)))?.trim() === 'Ready') return true
      await page.click(tid('refresh'))
      return false
    })
    await shot('apps')
  }, { critical: true })

  await step('its live logs show lines, and new lines arrive', async () => {
    await page.click(tid(`app-link-${APP}`))
    await page.waitForSelector(tid('app-detail'))
    // no reload: the panel polls the app until it settles
    await until(`the detail of ${APP} to say Ready`, async () => (await page.textContent(tid('app-detail-status')))?.trim() === 'Ready')
    if (!(await apiHasPath(/\/apps\/\{app\}\/logs$/))) return "kipperd's API has no logs endpoint yet (not in /api/v1/openapi.json)"
    await page.click(tid('tab-logs'))
    await page.waitForSelector(tid('log-line'))
    const first = await page.locator(tid('log-line')).count()
    await until('new log lines', async () => (await page.locator(tid('log-line')).count()) > first, 20_000)
    const text = await page.locator(tid('log-line')).last().textContent()
    if (!text.includes('simulated log line')) throw new Error(`unexpected log line: ${text}`)
    await shot('app-logs')
  })

  await step('the admin scales the app to 3 and sees 3 ready replicas', async () => {
    await page.click(tid('tab-overview'))
    await page.fill(tid('scale-input'), '3')
    await page.click(tid('scale-submit'))
    // the panel itself follows the rollout (polling while it is not settled), and so does the list
    await until('3/3 ready in the detail', async () => ((await page.textContent(tid('app-replicas'))) ?? '').includes('3/3'))
    await until('3/3 ready in the list', async () => ((await page.textContent(tid(`app-row-${APP}`))) ?? '').includes('3/3'))
  })

  await step('the admin creates a service', async () => {
    await nav('services')
    await page.waitForSelector(tid('service-create-open'))
    await page.click(tid('service-create-open'))
    await page.selectOption(tid('service-type'), 'postgres')
    await page.fill(tid('service-name'), 'db')
    await page.click(tid('service-create'))
    await page.waitForSelector(tid('service-row-db'))
    await until('db to be Ready', async () => {
      if ((await page.textContent(tid('service-status-db')))?.trim() === 'Ready') return true
      await page.click(tid('refresh'))
      return false
    })
    await shot('services')
  })

  await step('the dashboard counts the project, the app and the service', async () => {
    await nav('dashboard')
    await page.waitForSelector(tid('nodes-table'))
    for (const id of ['count-projects', 'count-apps', 'count-services']) {
      await until(`${id} to be 1`, async () => (await page.textContent(`${tid(id)} .big`))?.trim() === '1', 20_000)
    }
    // kip sandbox up runs kipperd outside the cluster: it is listed as the process answering
    const components = (await page.textContent(tid('components-table'))) ?? ''
    if (!/kipperd\s*Ready[\s\S]*running outside the cluster \(this kipperd, version /.test(components)) {
      throw new Error(`kipperd is not shown as running outside the cluster: ${components}`)
    }
    await shot('dashboard')
  })

  await step("the routes view lists the app's route", async () => {
    await nav('routes')
    const row = `[data-testid^="route-row-${APP}-${PROJECT}-"]`
    await page.waitForSelector(row)
    const environment = (await page.textContent(`${row} td:nth-child(3)`))?.trim()
    if (environment !== 'default') throw new Error(`the route's environment reads "${environment}", not "default"`)
    await shot('routes')
  })

  await step('the admin adds a viewer', async () => {
    await nav('users')
    await page.fill(tid('user-email'), VIEWER)
    await page.selectOption(tid('user-role'), 'viewer')
    await page.fill(tid('user-password'), VIEWER_PASSWORD)
    await page.click(tid('user-create'))
    await page.waitForSelector(tid(`user-row-${VIEWER}`))
    await shot('users')
  })

  await step('every view holds its layout from phone to wide screen; on the phone a Menu button opens the navigation', async () => {
    const views = [
      ['Dashboard', '', tid('nodes-table')],
      ['Projects', 'projects', tid(`project-row-${PROJECT}`)],
      ['Apps', `apps/${PROJECT}/${APP}`, tid('app-detail')],
      ['Services', `services/${PROJECT}`, tid('service-row-db')],
      ['Routes', 'routes', tid('routes-table')],
      ['Users', 'users', tid(`user-row-${VIEWER}`)],
      ['Account', 'account', tid('password-form')],
    ]
    const problems = []
    const check = async (view, atSize) => {
      try {
        await checkLayout(page, view, atSize)
      } catch (e) {
        problems.push(e.message)
      }
    }
    for (const [view, path, ready] of views) {
      await resize(page, DESKTOP)
      await page.goto(new URL(path, sb.url).href)
      await page.waitForSelector(ready)
      await check(view, view === 'Apps' ? phoneMenu : undefined)
      if (view !== 'Apps') continue
      await page.click(tid('deploy-open'))
      await check('Apps with the deploy form')
      await page.click(tid('tab-logs'))
      await page.waitForSelector(`${tid('logs-panel')}, ${tid('tab-logs')}[aria-selected="true"]`)
      await check('Apps with the logs tab')
    }
    await resize(page, DESKTOP)
    if (problems.length) throw new Error(problems.join('\n'))
  })

  await step('dark mode turns on, and stays on after a reload', async () => {
    await page.goto(new URL(`apps/${PROJECT}/${APP}`, sb.url).href)
    await page.waitForSelector(tid('app-detail'))
    const before = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    await page.click(tid('theme-toggle'))
    await until('dark mode', async () => (await page.getAttribute(tid('theme-toggle'), 'aria-pressed')) === 'true')
    const after = await page.evaluate(() => getComputedStyle(document.body).backgroundColor)
    if (after === before) throw new Error(`the background stayed ${before}`)
    await page.reload()
    await page.waitForSelector(tid('app-detail'))
    if ((await page.getAttribute(tid('theme-toggle'), 'aria-pressed')) !== 'true') throw new Error('dark mode was forgotten')
    await shot('dark-mode')
    await page.click(tid('theme-toggle'))
  })

  await step('the delete confirmation keeps the focus inside, Escape closes it back to Delete, and the keyboard confirms', async () => {
    await page.focus(tid('delete-app'))
    await page.keyboard.press('Enter')
    await page.waitForSelector(tid('confirm-dialog'))
    await checkFocusTrap(page, tid('confirm-dialog'), 'Tab')
    await checkFocusTrap(page, tid('confirm-dialog'), 'Shift+Tab')
    await page.keyboard.press('Escape')
    await page.waitForSelector(tid('confirm-dialog'), { state: 'detached' })
    const back = await focused(page)
    if (back.id !== 'delete-app') throw new Error(`after Escape ${back.id} has the focus, not delete-app`)
    if (!back.visible) throw new Error(`delete-app has the focus again but does not show it (${back.style})`)
    await page.keyboard.press('Enter')
    await page.waitForSelector(tid('confirm-dialog'))
    await tabTo(page, 'confirm-ok', 3)
    await page.keyboard.press('Enter')
    await until(`${APP} to be gone`, async () => {
      await page.goto(new URL(`apps/${PROJECT}`, sb.url).href)
      await page.waitForSelector(`${tid('apps-table')}, ${tid('empty')}`)
      return (await page.locator(tid(`app-row-${APP}`)).count()) === 0
    })
  })

  await step('a viewer gets no deploy button nor connection details, and the API refuses their deploy (403)', async () => {
    await page.click(tid('sign-out'))
    await page.waitForSelector(tid('login-form'))
    await login(VIEWER, VIEWER_PASSWORD)
    await page.goto(new URL(`apps/${PROJECT}`, sb.url).href)
    await page.waitForSelector(tid('project-select'))
    if (await page.locator(tid('deploy-open')).count()) throw new Error('a viewer sees the deploy button')
    const status = await page.evaluate(async ([email, password, project]) => {
      const r = await fetch('/api/v1/auth/login', { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email, password }) })
      const { token } = await r.json()
      const d = await fetch(`/api/v1/projects/${project}/apps`, { method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ name: 'sneaky', image: 'nginx:1.27' }) })
      return d.status
    }, [VIEWER, VIEWER_PASSWORD, PROJECT])
    if (status !== 403) throw new Error(`the viewer's deploy answered ${status}, not 403`)
    await page.goto(new URL(`services/${PROJECT}`, sb.url).href)
    await page.waitForSelector(tid('service-row-db'))
    if (await page.locator(tid('service-reveal-db')).count()) throw new Error("a viewer is offered the service's connection details")
  })

  await step('the browser enforces the CSP: an injected inline script and style are refused', async () => {
    const seen = problems.length
    const result = await page.evaluate(() => {
      const s = document.createElement('script')
      s.textContent = 'window.__cspBroken = true'
      document.head.appendChild(s)
      const probe = document.createElement('div')
      probe.innerHTML = '<span style="color: rgb(1, 2, 3)">probe</span>'
      document.body.appendChild(probe)
      const color = getComputedStyle(probe.firstChild).color
      probe.remove()
      return { ran: window.__cspBroken === true, color }
    })
    if (result.ran) throw new Error('an inline script ran')
    if (result.color === 'rgb(1, 2, 3)') throw new Error('an inline style attribute was applied')
    await until('the violations to be reported', async () => problems.length >= seen + 2, 5_000)
    problems.splice(seen) // expected: they prove violations are caught
  })

  await step('no CSP violation or page error happened', async () => {
    if (problems.length) throw new Error(problems.join('\n'))
  })
} catch (e) {
  failed = true
  if (n === 0) console.log(`not ok - setup\n  ${e.stack ?? e}`)
} finally {
  if (browser) await browser.close().catch(() => {})
  if (sb) {
    writeFileSync(join(OUT, 'kipperd.log'), sb.log('kipperd.log'))
    writeFileSync(join(OUT, 'sandbox-up.log'), sb.output())
    await sb.stop()
  }
}

if (!failed && process.argv.includes('--update-docs')) {
  mkdirSync(DOCS_IMAGES, { recursive: true })
  for (const f of readdirSync(SHOTS).filter((f) => f.endsWith('.png'))) copyFileSync(join(SHOTS, f), join(DOCS_IMAGES, f))
  console.log(`# screenshots copied to ${DOCS_IMAGES}`)
}
for (const s of skipped) console.log(`# skipped: ${s}`)
console.log(failed ? `# FAILED (screenshots and logs in ${OUT})` : `# passed: ${n} steps; screenshots in ${SHOTS}`)
process.exit(failed ? 1 : 0)
