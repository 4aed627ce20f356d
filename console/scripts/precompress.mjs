#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
// Writes FILE.gz (gzip level 9) next to every text asset of a built console (js, css, html, svg,
// json, map, txt, webmanifest), so kipperd can serve precompressed gzip without linking zlib.
// Usage: node scripts/precompress.mjs [DIR]   (DIR defaults to $KIP_CONSOLE_OUT, else dist)
// A .gz is only kept when it is smaller than the file; stale .gz files are replaced.
import { readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join, extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { gzipSync, constants } from 'node:zlib'

const TEXT = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.map', '.txt', '.webmanifest'])

export function precompress(dir) {
  let count = 0
  let before = 0
  let after = 0
  const walk = (d) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (entry.isFile() && TEXT.has(extname(entry.name))) {
        const data = readFileSync(p)
        const gz = gzipSync(data, { level: constants.Z_BEST_COMPRESSION })
        if (gz.length < data.length) {
          writeFileSync(`${p}.gz`, gz)
          count++
          before += data.length
          after += gz.length
        } else {
          rmSync(`${p}.gz`, { force: true })
        }
      }
    }
  }
  walk(dir)
  return { count, before, after }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const dir = process.argv[2] ?? process.env.KIP_CONSOLE_OUT ?? 'dist'
  const { count, before, after } = precompress(dir)
  console.log(`precompress: ${count} files in ${dir}, ${before} -> ${after} bytes gzipped`)
}
