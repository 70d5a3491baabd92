/** The unit files: valid for systemd where it can check them, and saying what the guide needs. */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scheduledSnapshots } from '../../server/cli/scheduled-snapshots';
import { loadConfig } from '../../server/config';

const DIR = path.resolve(__dirname, '../../systemd');
const UNITS = ['archive.service', 'archive-snapshot.service', 'archive-snapshot.timer', 'archive-backup.service', 'archive-backup.timer', 'archive-verify.service', 'archive-verify.timer'];
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const read = (f: string) => fs.readFileSync(path.join(DIR, f), 'utf8');

describe('systemd units', () => {
  it.skipIf(!hasAnalyze).each(UNITS)('%s passes systemd-analyze verify', (unit) => {
    const out = execFileSync('systemd-analyze', ['verify', '--man=no', path.join(DIR, unit)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  it('the server and the snapshot run are hardened and read the same .env', () => {
    for (const unit of ['archive.service', 'archive-snapshot.service', 'archive-backup.service', 'archive-verify.service']) {
      const text = read(unit);
      for (const line of ['User=hivematrix', 'ProtectSystem=strict', 'NoNewPrivileges=true', 'PrivateTmp=true', 'EnvironmentFile=/opt/hivematrix/hivematrix-archive/.env']) {
        expect(text, `${unit}: ${line}`).toContain(line);
      }
    }
  });

  it('start without a data folder (PostgreSQL installs have none): it is writable only if it exists', () => {
    for (const unit of ['archive.service', 'archive-snapshot.service']) {
      const paths = read(unit)
        .split('\n')
        .filter((l) => l.startsWith('ReadWritePaths='));
      expect(paths, unit).toEqual(['ReadWritePaths=-/opt/hivematrix/hivematrix-archive/data']);
    }
  });

  it('beside a server on the embedded database, the timer has nothing to do and says why (exit 0, not a failure every hour)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-timer-'));
    try {
      // A live server process holds the embedded database (the test's parent stands in for it).
      fs.writeFileSync(path.join(dataDir, 'pgdata.lock'), JSON.stringify({ pid: process.ppid, command: 'serve', since: new Date().toISOString() }));
      const lines: string[] = [];
      const config = loadConfig({ ARCHIVE_DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, dataDir);
      expect(await scheduledSnapshots(config, { all: false, dryRun: false }, (l) => lines.push(l))).toBe(0);
      expect(lines.join('\n')).toMatch(/Nothing to do: the Archive server \(process \d+\) has the embedded database .* runs the schedule itself/);
      expect(fs.readdirSync(dataDir)).toEqual(['pgdata.lock']);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the backup runs nightly and catches up, writes only its folder, and checks what it made', () => {
    expect(read('archive-backup.timer')).toMatch(/OnCalendar=\*-\*-\* 03:15:00[\s\S]*Persistent=true[\s\S]*Unit=archive-backup.service/);
    const svc = read('archive-backup.service');
    expect(svc).toContain('Type=oneshot');
    expect(svc).toMatch(/^ExecStart=\/usr\/bin\/node --max-old-space-size=1024 bin\/archive.mjs backup --check$/m);
    expect(svc).toMatch(/^Environment=.*BACKUP_DIR=\/var\/backups\/hivematrix-archive/m);
    expect(svc).toMatch(/^ReadWritePaths=\/var\/backups\/hivematrix-archive -\/opt\/hivematrix\/hivematrix-archive\/data$/m);
  });

  it('the verify runs weekly, after the backup, and catches up', () => {
    expect(read('archive-verify.timer')).toMatch(/OnCalendar=Sun \*-\*-\* 04:30:00[\s\S]*Persistent=true[\s\S]*Unit=archive-verify.service/);
    const svc = read('archive-verify.service');
    expect(svc).toContain('Type=oneshot');
    expect(svc).toMatch(/^ExecStart=\/usr\/bin\/node --max-old-space-size=1024 bin\/archive.mjs verify$/m);
    expect(svc).toMatch(/^ReadWritePaths=-\/opt\/hivematrix\/hivematrix-archive\/data$/m);
  });

  it('the timer fires hourly and catches up; the service is a oneshot of the CLI that decides', () => {
    expect(read('archive-snapshot.timer')).toMatch(/OnCalendar=\*-\*-\* \*:00:30[\s\S]*Persistent=true[\s\S]*Unit=archive-snapshot.service/);
    const svc = read('archive-snapshot.service');
    expect(svc).toContain('Type=oneshot');
    expect(svc).toMatch(/^ExecStart=\/usr\/bin\/node --max-old-space-size=1024 bin\/archive.mjs scheduled-snapshots$/m);
  });
});
