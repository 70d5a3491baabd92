/**
 * GET /metrics (Prometheus text): behind the admin token, or without one on METRICS_BIND;
 * request durations by declared route; the figures read from the database and the backup
 * folder; and the alert rules in monitoring/ use only names the server exports.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createToken } from '../../server/api-tokens';
import { makeBill } from '../helpers/fixtures';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../helpers/server';

let server: TestServer;
let backupDir: string;

/** The value of one series (`name{labels}`), or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  backupDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-backups-'));
  server = await startTestServer({ BACKUP_DIR: backupDir, METRICS_BIND: '127.0.0.1:0' });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const scrape = async () => {
  const res = await server.api('/metrics', { token: ADMIN_TOKEN });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
};

describe('GET /metrics', () => {
  it('answers only the admin scope on the API port', async () => {
    expect((await server.api('/metrics', { token: null })).status).toBe(401);
    const read = (await createToken(server.db.knex, { name: 'metrics-reader', scope: 'read' })).token;
    expect((await server.api('/metrics', { token: read })).status).toBe(403);
    expect((await server.api('/metrics', { token: ADMIN_TOKEN })).status).toBe(200);
  });

  it('counts bills archived and times requests by declared route and status', async () => {
    const before = value(await scrape(), 'archive_bills_archived')!;
    const bill = makeBill({ company_account_number: '810001', billing_year: 2025, billing_month: 3 });
    expect((await server.api('/api/snapshot', { method: 'POST', json: bill })).status).toBe(201);
    expect((await server.api(`/api/snapshot/${bill.invoice_number}`)).status).toBe(200);
    expect((await server.api('/api/snapshot/NOPE-1')).status).toBe(404);
    const text = await scrape();
    expect(value(text, 'archive_bills_archived')).toBe(before + 1);
    expect(value(text, 'archive_http_request_duration_seconds_count{route="/api/snapshot",method="POST",status="201"}')).toBeGreaterThanOrEqual(1);
    // The declared pattern, not the invoice number: one series however many bills are read.
    expect(value(text, 'archive_http_request_duration_seconds_count{route="/api/snapshot/:invoice_number",method="GET",status="200"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'archive_http_request_duration_seconds_count{route="/api/snapshot/:invoice_number",method="GET",status="404"}')).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(bill.invoice_number);
  });

  it('reports the database, the schedule, the pool, the log, sizes and disk', async () => {
    const text = await scrape();
    expect(value(text, 'archive_database_up')).toBe(1);
    expect(value(text, 'archive_schedule_enabled')).toBe(1);
    expect(value(text, 'archive_schedule_next_run_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000);
    expect(value(text, 'archive_schedule_overdue_seconds')).toBe(0);
    expect(value(text, 'archive_db_pool_connections{state="used"}')).toBeGreaterThanOrEqual(0);
    expect(value(text, 'archive_integrity_queued_leaves')).toBeGreaterThanOrEqual(0);
    expect(value(text, 'archive_database_size_bytes')).toBeGreaterThan(0);
    expect(value(text, 'archive_table_size_bytes{table="billing_snapshots"}')).toBeGreaterThan(0);
    expect(text).toMatch(/^archive_disk_free_bytes\{role="backups",path="[^"]+"\} \d+/m);
    expect(text).toContain('archive_process_resident_memory_bytes');
    // No backup yet (its time 0: the backup alert fires), no verify yet (-1: the verify alert does not).
    expect(value(text, 'archive_backup_last_timestamp_seconds')).toBe(0);
    expect(value(text, 'archive_backup_last_check_ok')).toBe(-1);
    expect(value(text, 'archive_integrity_verify_ok')).toBe(-1);
  });

  it('reports the last verify and the last backup with its restore check', async () => {
    expect((await server.api('/api/integrity/verify', { method: 'POST', token: ADMIN_TOKEN })).status).toBe(200);
    const stamp = '20261202T030000000Z';
    const manifest = {
      format: 'archive-backup/v1',
      file: `archive-${stamp}.dump`,
      created_at: '2026-12-02T03:00:00.000Z',
      database: 'postgres',
      encrypted: false,
      bytes: 1234,
      sha256: 'x',
      tables: {},
      checkpoint: null,
      archive_version: '0',
    };
    fs.writeFileSync(path.join(backupDir, `archive-${stamp}.manifest.json`), JSON.stringify(manifest));
    let text = await scrape();
    expect(value(text, 'archive_integrity_verify_ok')).toBe(1);
    expect(value(text, 'archive_backup_last_timestamp_seconds')).toBe(Date.parse('2026-12-02T03:00:00Z') / 1000);
    expect(value(text, 'archive_backup_last_size_bytes')).toBe(1234);
    expect(value(text, 'archive_backup_last_check_ok')).toBe(-1);
    fs.writeFileSync(path.join(backupDir, `archive-${stamp}.check.json`), JSON.stringify({ checked_at: '2026-12-02T04:00:00Z', ok: false, results: [] }));
    text = await scrape();
    expect(value(text, 'archive_backup_last_check_ok')).toBe(0);
  });

  it('is served without a token on METRICS_BIND, and nothing else is', async () => {
    const res = await fetch(server.metricsUrl!);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('archive_bills_archived ');
    const other = await fetch(server.metricsUrl!.replace('/metrics', '/api/snapshots'));
    expect(other.status).toBe(404);
  });
});

describe('the alert rules', () => {
  const rules = parse(fs.readFileSync(path.resolve(import.meta.dirname, '../../monitoring/archive-alerts.yml'), 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  const all = rules.groups.flatMap((g) => g.rules);

  it("cover the guide's monitoring: service down, run failed or partial, a due run missed, backup too old, verify failed, disk filling", () => {
    expect(all.map((r) => r.alert)).toEqual(
      expect.arrayContaining([
        'ArchiveDown',
        'ArchiveRunFailedOrPartial',
        'ArchiveScheduledRunMissed',
        'ArchiveBackupTooOld',
        'ArchiveIntegrityVerifyFailed',
        'ArchiveIntegrityVerifyTooOld',
        'ArchiveDiskFilling',
      ]),
    );
  });

  it('use only metric names the server exports', async () => {
    const text = await scrape();
    const exported = new Set(text.split('\n').flatMap((l) => (l.startsWith('# TYPE ') ? [l.split(' ')[2]] : [])));
    for (const r of all) {
      for (const name of r.expr.match(/\barchive_[a-z_]+/g) ?? []) expect(exported, `${r.alert}: ${name}`).toContain(name);
    }
  });
});
