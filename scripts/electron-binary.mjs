// Electron's own install script downloads its binary from outside the npm registry. It is
// denied in package.json ("allowScripts") so `npm ci` stays green where that is impossible
// (CI, our build machines); here we try it ourselves and only warn when it cannot be had.
// Real users' machines get the binary; without it the app still builds and its layers test.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const install = 'node_modules/electron/install.js';
if (existsSync(install) && !existsSync('node_modules/electron/dist')) {
  try {
    const r = spawnSync(process.execPath, [install], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 120_000 });
    if (r.status !== 0) {
      const lines = String(r.stderr)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('at '));
      throw new Error(lines.find((l) => /error/i.test(l)) ?? lines.pop() ?? `exit ${r.status}`);
    }
  } catch (err) {
    console.warn(`archive: Electron's binary could not be downloaded (${err.message}); the desktop app builds, but \`npm run desktop\` needs it.`);
  }
}
