// @vitest-environment node
// (*.node.test.ts: Node APIs, so outside the browser-typed vue-tsc check)
// SPDX-License-Identifier: Apache-2.0
// scripts/precompress.mjs: FILE.gz beside each text asset (nested folders too) that gunzips to
// the same bytes; none for binary files or where gzip would not be smaller; stale ones replaced.
import { afterEach, describe, expect, it } from 'vitest'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { precompress } from '../../scripts/precompress.mjs'

let dir = ''
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('precompress', () => {
  it('writes FILE.gz for text assets only, when smaller', () => {
    dir = mkdtempSync(join(tmpdir(), 'kip-precompress-'))
    mkdirSync(join(dir, 'assets'))
    const js = 'export const x = 1;\n'.repeat(200)
    writeFileSync(join(dir, 'index.html'), '<!doctype html>' + '<p>hello</p>'.repeat(50))
    writeFileSync(join(dir, 'assets', 'index-abc.js'), js)
    writeFileSync(join(dir, 'assets', 'index-abc.css'), 'a{color:red}'.repeat(100))
    writeFileSync(join(dir, 'assets', 'logo.png'), Buffer.alloc(2000))
    writeFileSync(join(dir, 'tiny.svg'), '<svg/>')
    writeFileSync(join(dir, 'tiny.svg.gz'), 'stale')
    const r = precompress(dir)
    expect(r.count).toBe(3)
    expect(r.after).toBeLessThan(r.before)
    expect(gunzipSync(readFileSync(join(dir, 'assets', 'index-abc.js.gz'))).toString()).toBe(js)
    expect(existsSync(join(dir, 'index.html.gz'))).toBe(true)
    expect(existsSync(join(dir, 'assets', 'index-abc.css.gz'))).toBe(true)
    expect(existsSync(join(dir, 'assets', 'logo.png.gz'))).toBe(false)
    expect(existsSync(join(dir, 'tiny.svg.gz'))).toBe(false) // gzip is not smaller: stale one removed
  })
})
