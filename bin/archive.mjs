#!/usr/bin/env node
// The `archive` command. In production (NODE_ENV=production, as the systemd units set) it runs
// the bundle `npm run build:server` writes to dist/: no TypeScript loader in the process, about
// 35 MB less resident memory. Otherwise, and when there is no bundle, it runs the TypeScript
// sources through tsx's loader, so a checkout works without a build step.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/index.js', import.meta.url);
if (process.env.NODE_ENV === 'production' && existsSync(bundle)) {
  await import(bundle.href);
} else {
  if (process.env.NODE_ENV === 'production') process.stderr.write('archive: no build in dist/ (run `npm run build:server`); running from the TypeScript sources\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../server/cli/index.ts');
}
