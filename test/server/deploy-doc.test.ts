/**
 * docs/deploy.md stays true: every `archive` command it runs exists (with its options), every
 * file of this repository it names exists, every route it names is one the server has, every variable of its `.env` is one the server
 * reads, every unit it installs passes systemd-analyze verify, and its checklist covers the
 * deployment guide's, item by item.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const doc = fs.readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
const blocks = [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1], text: m[2] }));
const shell = blocks.filter((b) => b.lang === 'bash').map((b) => b.text.replace(/\\\n\s*/g, ' '));
const help = execFileSync(process.execPath, [path.join(ROOT, 'bin/archive.mjs'), 'help'], { encoding: 'utf8' });

/** The guide's verification checklist (../shared/seed/archive-deployment-guide.md), as given. */
const GUIDE_CHECKLIST = [
  'PostgreSQL database created and accessible',
  'Archive service running on port 5012',
  'Health endpoint returns 200 OK',
  'Scheduler timer enabled and configured',
  'Ledger knows about Archive service',
  'Test snapshot creation succeeds',
  'Web UI accessible and showing data',
  'Scheduled snapshot timer configured correctly',
  'Reverse proxy configured (production)',
  'SSL certificates installed (production)',
  'Firewall rules configured',
  'Log rotation configured',
  'Backup strategy implemented',
  'Monitoring alerts configured',
];

describe('docs/deploy.md', () => {
  it('runs only archive commands and options that exist', () => {
    const runs = shell.flatMap((b) => [...b.matchAll(/bin\/archive\.mjs ([a-z-]+(?: key)?)((?: --?[a-z-]+)*)/g)]);
    expect(runs.length).toBeGreaterThan(8);
    for (const [, command, flags] of runs) {
      const name = command.split(' ')[0];
      expect(help, `archive ${name}`).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
      const usage = execFileSync(process.execPath, [path.join(ROOT, 'bin/archive.mjs'), name, '--help'], { encoding: 'utf8' });
      for (const flag of flags.trim().split(/\s+/).filter(Boolean)) expect(usage, `archive ${name} ${flag}`).toContain(flag);
    }
    // And the commands named in prose and tables.
    for (const [, name] of doc.matchAll(/`archive ([a-z-]+)/g)) expect(help, `archive ${name}`).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it('names only files of this repository that exist', () => {
    const named = new Set([...doc.matchAll(/(?<![\w/.])((?:systemd|deploy|monitoring|docs|bin)\/[\w.-]+\.[\w]+)/g)].map((m) => m[1]));
    expect(named.size).toBeGreaterThan(6);
    for (const f of named) expect(fs.existsSync(path.join(ROOT, f)), f).toBe(true);
    expect(fs.existsSync(path.join(ROOT, '.env.example'))).toBe(true);
  });

  it('names only routes the server has', () => {
    // What server/routes/ declares: get('/path', scope, ...) and post(...), its one way to add a route.
    const declared = fs
      .readdirSync(path.join(ROOT, 'server/routes'))
      .flatMap((f) => [...fs.readFileSync(path.join(ROOT, 'server/routes', f), 'utf8').matchAll(/^\s*(get|post|put|patch|del)\('(\/[^']*)'/gm)])
      .map(([, method, route]) => ({ method: method === 'del' ? 'DELETE' : method.toUpperCase(), pattern: new RegExp(`^${route.replace(/:\w+/g, ':?[\\w.-]+')}$`) }));
    expect(declared.length).toBeGreaterThan(20);
    const named = [...doc.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) (\/[\w/:.-]*)/g)].map(([, method, route]) => ({ method, route }));
    expect(named.length).toBeGreaterThan(2);
    for (const { method, route } of named)
      expect(
        declared.some((d) => d.method === method && d.pattern.test(route)),
        `${method} ${route}`,
      ).toBe(true);
  });

  it('sets only variables the server reads', () => {
    const config = fs.readFileSync(path.join(ROOT, 'server/config.ts'), 'utf8');
    const known = new Set([...config.matchAll(/^ {2}([A-Z][A-Z0-9_]+): z/gm)].map((m) => m[1]));
    const env = shell.find((b) => b.includes('DATABASE_URL=postgres://'))!;
    const vars = [...env.matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]);
    expect(vars.length).toBeGreaterThan(8);
    for (const v of vars) expect(known, v).toContain(v);
  });

  const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
  it.skipIf(!hasAnalyze)('installs units that pass systemd-analyze verify', () => {
    const units = [...new Set([...doc.matchAll(/systemd\/([\w-]+\.(?:service|timer))/g)].map((m) => m[1]))];
    expect(units).toEqual(
      expect.arrayContaining([
        'archive.service',
        'archive-snapshot.service',
        'archive-snapshot.timer',
        'archive-backup.service',
        'archive-backup.timer',
        'archive-verify.service',
        'archive-verify.timer',
      ]),
    );
    const out = execFileSync('systemd-analyze', ['verify', '--man=no', ...units.map((u) => path.join(ROOT, 'systemd', u))], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  it("answers the guide's checklist item by item, each with how to check it", () => {
    const rows = doc.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| guide item') && !l.startsWith('|---'));
    for (const item of GUIDE_CHECKLIST) {
      const row = rows.find((r) => r.startsWith(`| ${item} |`));
      expect(row, item).toBeDefined();
      const [, what, check] = row!.split(' | ');
      expect(what.trim().length, `${item}: what does it`).toBeGreaterThan(5);
      expect(check.replace(/\|$/, '').trim().length, `${item}: how to check`).toBeGreaterThan(5);
    }
  });
});
