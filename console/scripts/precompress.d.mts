// SPDX-License-Identifier: Apache-2.0
// Types of scripts/precompress.mjs for the TypeScript tests that import it.
export function precompress(dir: string): { count: number; before: number; after: number }
