/**
 * The one typed client of the API (shared/archive-client.ts), against a real server and the
 * simulator: every call, its errors as BridgeErrors with the server's code and message, and
 * the paged "every bill of a search" that both bridges' exports use.
 */
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveClient } from '../../shared/archive-client';
import type { BulkExportProgress } from '../../shared/bridge';
import { BridgeError } from '../../shared/bridge-error';
import { billFile, bulkExport, type ExportSink } from '../../shared/export';
import { runEventOf, type RunEvent } from '../../shared/runs';
import { accountNumber } from '../../server/sim/generate';
import { fixtureBills } from '../helpers/fixtures';
import { startRunWorld, type RunWorld } from '../helpers/runs';
import { ADMIN_TOKEN, SERVICE_TOKEN } from '../helpers/server';

let w: RunWorld;
let admin: ArchiveClient;
beforeAll(async () => {
  w = await startRunWorld({ companies: 5, seed: 'client' });
  admin = new ArchiveClient(w.server.url, ADMIN_TOKEN);
  for (const b of fixtureBills().filter((x) => x.key.endsWith('202610'))) {
    expect((await w.server.api('/api/snapshot', { method: 'POST', json: b.body })).status).toBe(201);
  }
});
afterAll(() => w.stop());

describe('the API client', () => {
  it('reads bills, their files, a company, the figures and the health', async () => {
    const found = await admin.search({ year: '2026', month: '10', sort: 'invoice_number', order: 'asc' });
    expect(found.total).toBeGreaterThanOrEqual(7);
    const first = found.results[0];
    const bill = await admin.snapshot(first.invoice_number);
    expect(bill.invoice_number).toBe(first.invoice_number);
    const csv = await admin.file(first.invoice_number, 'csv');
    expect(new TextDecoder().decode(csv.data)).toBe(bill.invoice_csv);
    expect(csv.fileName).toMatch(/_2026-10\.csv$/);
    const pdf = await admin.file(first.invoice_number, 'pdf');
    expect(new TextDecoder().decode(pdf.data.slice(0, 5))).toBe('%PDF-');
    expect((await admin.company(bill.company_account_number, { limit: 5, offset: 0 })).results[0].invoice_number).toBe(first.invoice_number);
    expect((await admin.stats()).snapshots).toBe(found.total);
    expect(await admin.health()).toMatchObject({ status: 'ok', service: 'archive' });
    expect(await admin.call('archive:about')).toMatchObject({ service: 'archive', currency: 'USD', time_zone: 'UTC' });
  });

  it('fetches every bill of a search in pages', async () => {
    const all = await admin.allResults({ year: '2026', limit: '1', offset: '5' });
    const { total } = await admin.search({ year: '2026' });
    expect(all).toHaveLength(total);
  });

  it("exports a search as both bridges do: the server's PDFs under distinct names beside what is there, and a manifest", async () => {
    const written = new Map<string, Uint8Array>();
    const sink: ExportSink = { place: 'memory', existing: async () => ['manifest.csv'], write: async (name, data) => (written.set(name, data), name) };
    const progress: BulkExportProgress[] = [];
    const r = await bulkExport(admin, { year: '2026', month: '10' }, sink, { exportId: 'x', signal: new AbortController().signal, progress: (p) => progress.push(p) });
    const { total } = await admin.search({ year: '2026', month: '10' });
    expect(r).toMatchObject({ state: 'done', files: total, manifest: 'manifest_2.csv' });
    expect(progress.at(-1)).toMatchObject({ state: 'done', done: total, total });
    const manifest = new TextDecoder().decode(written.get('manifest_2.csv')).split('\r\n');
    expect(manifest[0]).toBe('file,invoice_number,company,period,total_amount,currency,content_hash');
    expect(manifest).toHaveLength(total + 2);
    const muller = manifest.find((l) => l.includes('731118-202610'))!;
    // Every file is the server's own PDF, named by company and period.
    expect(muller).toMatch(/^Müller__Söhne_GmbH_2026-10\.pdf,731118-202610,Müller & Söhne GmbH,2026-10,[\d.]+,USD,[0-9a-f]{64}$/);
    expect(new TextDecoder().decode(written.get('Müller__Söhne_GmbH_2026-10.pdf')!.slice(0, 5))).toBe('%PDF-');
    const single = await billFile(admin, '731118-202610', 'csv');
    expect(single.name).toBe('Müller__Söhne_GmbH_2026-10.csv');
  });

  it('runs, follows and reads a job, and edits the schedule', async () => {
    const started = await admin.startRun({ year: 2026, month: 9, accounts: [accountNumber(1)], dry_run: true });
    const events: RunEvent[] = [];
    await admin.events(started.job_id, (e) => events.push(e));
    expect(events.at(-1)?.type).toBe('end');
    const job = await admin.job(started.job_id, { per_page: 10 });
    expect(job.items.items[0].account_number).toBe(accountNumber(1));
    expect((await admin.jobs({ type: 'dry_run' })).jobs.map((j) => j.id)).toContain(started.job_id);
    const schedule = await admin.updateSchedule({ hour: 4 });
    expect(schedule.hour).toBe(4);
    expect((await admin.schedule()).hour).toBe(4);
  });

  it('passes on only the run events it knows, whole', () => {
    const job = { id: 'j' };
    expect(runEventOf('end', { type: 'end', job })).toEqual({ type: 'end', job });
    expect(runEventOf('item', { type: 'item', job_id: 'j', item: {}, counts: {} })).not.toBeNull();
    expect(runEventOf('item', { type: 'item', job_id: 'j', item: {} })).toBeNull();
    expect(runEventOf('end', { type: 'job', job })).toBeNull();
    expect(runEventOf('progress', { type: 'progress' })).toBeNull();
    expect(runEventOf('job', 'text')).toBeNull();
  });

  it("fails with BridgeErrors that carry the server's code, status and message", async () => {
    const missing = await admin.snapshot('999999-202601').catch((e) => e);
    expect(missing).toBeInstanceOf(BridgeError);
    expect(missing).toMatchObject({ code: 'not_found', status: 404 });
    const service = new ArchiveClient(w.server.url, SERVICE_TOKEN);
    await expect(service.schedule()).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await expect(new ArchiveClient(w.server.url, 'wrong-token-0123456789abcdef').stats()).rejects.toMatchObject({ code: 'unauthorized', status: 401 });
    const bad = await admin.search({ year: 'abc' }).catch((e) => e);
    expect(bad).toMatchObject({ code: 'validation_failed', status: 400, details: { fields: [{ field: 'year' }] } });
    // A port nothing listens on (taken and let go).
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const gone = await new ArchiveClient(`http://127.0.0.1:${port}`, ADMIN_TOKEN).stats().catch((e) => e);
    expect(gone).toMatchObject({ code: 'unreachable' });
    expect(gone.message).toBe(`Cannot reach the server at http://127.0.0.1:${port}: connection refused`);
  });
});
