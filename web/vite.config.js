// Built into the Python package (app/web/static) so that a machine with only Python serves
// the app; CI rebuilds and fails when the committed files differ (file names are content
// hashes, so the build is deterministic).
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  base: '/app/',
  plugins: [vue()],
  build: {
    outDir: '../app/web/static',
    emptyOutDir: true,
    target: 'es2020',
    // No polyfill: every browser we support has <link rel=modulepreload>; fewer bytes.
    modulePreload: { polyfill: false },
    // Every asset a file of its own: inline data: URLs would need a looser CSP.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
  },
})
