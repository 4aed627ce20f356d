// SPDX-License-Identifier: Apache-2.0
// Vite and Vitest configuration for the Kipper console. The output folder comes from
// KIP_CONSOLE_OUT (or `vite build --outDir DIR`), so CMake builds into its own build tree;
// assets get hashed names under assets/, index.html keeps its name. `npm run dev` proxies the
// API (HTTP and the logs WebSocket) to KIPPERD_URL, default http://127.0.0.1:8080.
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

const kipperd = process.env.KIPPERD_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [vue()],
  base: '/',
  build: {
    outDir: process.env.KIP_CONSOLE_OUT ?? 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        // "ConfirmDialog-HASH.js" rather than "ConfirmDialog.vue_vue_type_script_setup_true_lang-HASH.js"
        chunkFileNames: (chunk) => `assets/${chunk.name.replace(/\.vue_vue_type.*$/, '')}-[hash].js`,
      },
    },
  },
  server: {
    proxy: { '/api': { target: kipperd, ws: true, changeOrigin: false } },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    restoreMocks: true,
  },
})
