/**
 * `npm run bench`: every benchmark of the project, one after another.
 * `npm run bench -- runs` (or `server`, `desktop`, `integrity`, `import`, `soak`, `scale`) runs one of them.
 */
import { execFileSync } from 'node:child_process';

// The server runs as in production: the bundle, without the TypeScript loader.
execFileSync('npm', ['run', '--silent', 'build:server'], { stdio: 'inherit' });
const only = process.argv.slice(2);
const all = ['server', 'runs', 'desktop', 'integrity', 'import', 'soak', 'scale'];
for (const name of only.length ? only : all) {
  if (!all.includes(name)) throw new Error(`unknown benchmark ${name}; known: ${all.join(', ')}`);
  await import(`./${name}.ts`);
}
export {};
