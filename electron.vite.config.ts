/**
 * Build of the desktop admin app (desktop/: main, preload, renderer) with electron-vite.
 * `npm run build:desktop` writes out/; `npm run desktop` starts it where Electron's binary is
 * installed. The renderer is also what the browser tests serve (with the web bridge).
 */
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: { input: { index: resolve(__dirname, 'desktop/main/index.ts') } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: { input: resolve(__dirname, 'desktop/preload/index.ts'), output: { format: 'cjs', entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve(__dirname, 'desktop/renderer'),
    plugins: [react()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'desktop/renderer/index.html') },
    },
  },
});
