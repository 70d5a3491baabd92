/**
 * Build configuration of the desktop admin app (desktop/: main, preload, renderer).
 * electron-vite and the app's sources arrive with the "Desktop admin app" issue; this file
 * fixes where each part lives so the server side and the app share `shared/` from day one.
 * It is not part of the server's type-check (tsconfig.json) until then.
 */
import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: { outDir: 'out/main', rollupOptions: { input: resolve(__dirname, 'desktop/main/index.ts') } },
  },
  preload: {
    build: { outDir: 'out/preload', rollupOptions: { input: resolve(__dirname, 'desktop/preload/index.ts') } },
  },
  renderer: {
    root: resolve(__dirname, 'desktop/renderer'),
    build: { outDir: resolve(__dirname, 'out/renderer'), rollupOptions: { input: resolve(__dirname, 'desktop/renderer/index.html') } },
  },
});
