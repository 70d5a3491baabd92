/**
 * Corrections end to end: an admin archives the right bill for an archived invoice as its next
 * revision; nothing archived changes; Ledger's re-post still gets 409; search, the bill, its
 * CSV, PDF, history, audit trail, evidence bundle and `archive verify` all know it. Refusals
 * change nothing.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage, CorrectionCreated, CorrectionPreview, EvidenceBundle, SearchResult, SnapshotDetail } from '../../shared/api';
import { verifyBundle } from '../../shared/evidence';
import { verifyArchive } from '../../server/integrity/verify';
import { makeBill } from '../helpers/fixtures';
import { ADMIN_TOKEN, SERVICE_TOKEN, startTestServer, type TestServer } from '../helpers/server';
import { integrated, tampered } from '../helpers/integrity';
import { startRunWorld, type RunWorld } from '../helpers/runs';
import { accountNumber } from '../../server/sim/generate';

let server: TestServer;
let key: string;
const lines = [
  { line_type: 'user', item_name: 'Ada', description: 'User: Ada (Paid)', quantity: 1, rate: 125, amount: 125 },
  { line_type: 'user', item_name: 'Bob', description: 'User: Bob (Paid)', quantity: 1, rate: 125, amount: 125 },
  { line_type: 'asset', item_name: 'WS-1', description: 'Asset: WS-1 (Workstation)', quantity: 1, rate: 45, amount: 45 },
];
const original = makeBill({ company_account_number: '700001', billing_month: 4, line_items: lines, total_user_charges: 250, total_asset_charges: 45 });
const invoice = original.invoice_number as string;
// Bob was billed twice the rate; Ada left; a backup line was missed.
const correctedLines = [{ ...lines[1], rate: 62.5, amount: 62.5 }, lines[2], { line_type: 'backup', item_name: 'Backup', description: 'Backup overage 1 TB', quantity: 1, rate: 20, amount: 20 }];
const corrected = makeBill({ company_account_number: '700001', billing_month: 4, line_items: correctedLines, total_user_charges: 62.5, total_asset_charges: 45, total_backup_charges: 20 });

const admin = (p: string, init: Parameters<TestServer['api']>[1] = {}) => server.api(p, { ...init, token: ADMIN_TOKEN });
const correct = (body: unknown, inv = invoice) => admin(`/api/snapshot/${inv}/corrections`, { method: 'POST', json: body });
const bill = async (query = ''): Promise<SnapshotDetail> => (await admin(`/api/snapshot/${invoice}${query}`)).json();
const rowCounts = async () => {
  const [s, l, a] = await Promise.all(['billing_snapshots', 'snapshot_line_items', 'audit_log'].map((t) => server.db.knex(t).count({ n: '*' }).first()));
  return [s, l, a].map((r) => Number(r!.n));
};

beforeAll(async () => {
  server = await startTestServer();
  key = (await (await server.api('/api/integrity/key')).text()).trim();
  expect((await server.api('/api/snapshot', { method: 'POST', json: original })).status).toBe(201);
  expect((await server.api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '700002', billing_month: 4 }) })).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('a correction', () => {
  let created: CorrectionCreated;

  it('is previewed line by line first, archiving nothing', async () => {
    const before = await rowCounts();
    const res = await admin(`/api/snapshot/${invoice}/corrections/preview`, { method: 'POST', json: { bill: corrected } });
    expect(res.status, await res.clone().text()).toBe(200);
    const p: CorrectionPreview = await res.json();
    expect(p.current).toMatchObject({ revision: 1, total_amount: '295.00', line_item_count: 3 });
    expect(p.proposed).toMatchObject({ revision: 2, total_amount: '127.50', line_item_count: 3, source: 'correction' });
    expect(p.differences.fields).toEqual(expect.arrayContaining([{ field: 'total_amount', archived: '295.00', proposed: '127.50' }]));
    const byChange = (change: string) => p.differences.lines.filter((l) => l.change === change);
    expect(byChange('changed')).toEqual([
      expect.objectContaining({
        position: 1,
        fields: ['rate', 'amount'],
        archived: expect.objectContaining({ item_name: 'Bob', amount: '125.00' }),
        proposed: expect.objectContaining({ amount: '62.50' }),
      }),
    ]);
    expect(byChange('added')).toEqual([expect.objectContaining({ position: 3, proposed: expect.objectContaining({ item_name: 'Backup' }) })]);
    expect(byChange('removed')).toEqual([expect.objectContaining({ position: 1, archived: expect.objectContaining({ item_name: 'Ada' }) })]);
    expect(p.differences.csv_changed).toBe(true);
    expect(await rowCounts()).toEqual(before);
  });

  it('is archived as revision 2 of the same invoice, linked to revision 1, which stays as it was', async () => {
    const first = await bill();
    const res = await correct({ bill: corrected, reason: 'Bob was billed at twice his rate; Ada left in March; backup overage missed', supersedes_revision: 1 });
    expect(res.status, await res.clone().text()).toBe(201);
    created = await res.json();
    expect(created).toMatchObject({ invoice_number: invoice, revision: 2, supersedes_revision: 1 });
    expect(res.headers.get('location')).toBe(`/api/snapshot/${invoice}?revision=2`);

    const now = await bill();
    expect(now).toMatchObject({ revision: 2, total_amount: '127.50', source: 'correction', superseded_by_revision: null });
    expect(now.correction).toEqual({ supersedes_revision: 1, supersedes_content_hash: first.content_hash, reason: expect.stringMatching(/^Bob was billed/), corrected_by: 'admin' });
    expect(now.revisions.map((r) => [r.revision, r.archived_by, r.total_amount])).toEqual([
      [1, expect.stringMatching(/^Ledger/), '295.00'],
      [2, 'admin', '127.50'],
    ]);
    const old = await bill('?revision=1');
    expect(old).toMatchObject({ revision: 1, content_hash: first.content_hash, total_amount: '295.00', correction: null, superseded_by_revision: 2 });
    expect(old.line_items).toEqual(first.line_items);
  });

  it('is what search shows by default; include_superseded=true shows every revision', async () => {
    const search = async (q: string): Promise<SearchResult> => (await admin(`/api/snapshots/search?${q}`)).json();
    const current = await search(`invoice_number=${invoice}`);
    expect(current.results.map((r) => [r.revision, r.superseded])).toEqual([[2, false]]);
    const all = await search(`invoice_number=${invoice}&include_superseded=true&sort=invoice_number`);
    expect(all.results.map((r) => [r.revision, r.superseded]).sort()).toEqual([
      [1, true],
      [2, false],
    ]);
    // The unfiltered totals come from the counters: bills, or every revision.
    expect((await search('')).total).toBe(2);
    expect((await search('include_superseded=true')).total).toBe(3);
    const stats = await (await admin('/api/stats')).json();
    expect(stats.snapshots).toBe(2);
    expect(stats.monthly_totals.find((m: { period: string }) => m.period === '2026-04')).toEqual({ period: '2026-04', total: '127.80', snapshots: 2 });
  });

  it('says what it is in its CSV and PDF', async () => {
    const csv = await (await admin(`/api/snapshot/${invoice}/csv`)).text();
    expect(csv.startsWith(corrected.invoice_csv)).toBe(true);
    expect(csv.slice(corrected.invoice_csv.length)).toMatch(/^700001-202604,Test Co,2026-04-28,,Correction note,Revision 2: correction of revision 1 because Bob was billed .*,0,0\.00,0\.00\r\n$/);
    expect(await (await admin(`/api/snapshot/${invoice}/csv?revision=1`)).text()).toBe(original.invoice_csv);
    const pdf = Buffer.from(await (await admin(`/api/snapshot/${invoice}/pdf`)).arrayBuffer());
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'archive-correction-')), 'bill.pdf');
    fs.writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain(`${invoice}, revision 2`);
    expect(text).toMatch(/Correction: revision 2 of invoice 700001-202604, correcting revision 1 because Bob was billed at twice his rate/);
    const oldPdf = Buffer.from(await (await admin(`/api/snapshot/${invoice}/pdf?revision=1`)).arrayBuffer());
    fs.writeFileSync(file, oldPdf);
    expect(execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ')).toMatch(/Superseded: revision 2 corrects this bill/);
  });

  it('is in the audit trail with who, why and what changed', async () => {
    const page: AuditPage = await (await admin(`/api/audit?action=bill.corrected`)).json();
    expect(page.entries).toHaveLength(1);
    expect(page.entries[0]).toMatchObject({
      actor: 'admin',
      subject: invoice,
      period: '2026-04',
      details: { revision: 2, supersedes_revision: 1, reason: expect.stringMatching(/^Bob/), total_before: '295.00', total_after: '127.50', lines_changed: 3 },
    });
  });

  it('is a correction leaf of the log: its bundle verifies offline, and a changed reason does not', async () => {
    await integrated(server);
    const res = await admin(`/api/snapshot/${invoice}/bundle`);
    expect(res.status).toBe(200);
    const b: EvidenceBundle = await res.json();
    expect(b.revision).toBe(2);
    expect(b.leaf_data).toMatch(/^archive\/correction\/v1\n700001-202604\n[0-9a-f]{64}\n$/);
    const check = await verifyBundle(b, key);
    expect(check).toMatchObject({ revision: 2, correction: { supersedes_revision: 1, corrected_by: 'admin' } });
    await expect(verifyBundle({ ...b, correction: { ...b.correction!, reason: 'a nicer reason' } }, key)).rejects.toThrow(/does not record this correction/);
    await expect(verifyBundle({ ...b, correction: undefined }, key)).rejects.toThrow(/lacks a correction record/);
    // Revision 1 keeps its own bundle.
    const first: EvidenceBundle = await (await admin(`/api/snapshot/${invoice}/bundle?revision=1`)).json();
    expect(first.leaf_data.startsWith('archive/snapshot/v1\n')).toBe(true);
    await expect(verifyBundle(first, key)).resolves.toMatchObject({ revision: 1, correction: null });
  });

  it('is checked by archive verify; a rewritten reason, author or link is named', async () => {
    await integrated(server);
    const report = await verifyArchive(server.db.knex, { verifierKey: key, threads: 0 });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    for (const change of [`UPDATE billing_snapshots SET correction_reason = 'typo' WHERE revision = 2`, `UPDATE billing_snapshots SET corrected_by = 'someone-else' WHERE revision = 2`]) {
      const r = await tampered(server.db.knex, key, (trx) => trx.raw(change));
      expect(r.ok, change).toBe(false);
      expect(r.findings.map((f) => f.message)).toEqual([expect.stringMatching(/^Invoice 700001-202604 \(revision 2\): its correction record .* no longer matches what the log recorded/)]);
    }
    const line = await tampered(server.db.knex, key, (trx) => trx.raw(`UPDATE snapshot_line_items SET amount = 1 WHERE snapshot_id = ? AND position = 1`, [created.snapshot_id]));
    expect(line.findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/^Invoice 700001-202604 \(revision 2\) no longer matches what the log recorded \(leaf \d+\): line 1 \(user Bob\): amount is "1.00", the evidence says "62.50"/),
    ]);
    const gone = await tampered(server.db.knex, key, async (trx) => {
      await trx.raw(`DELETE FROM snapshot_line_items WHERE snapshot_id = ?`, [created.snapshot_id]);
      await trx.raw(`DELETE FROM billing_snapshots WHERE id = ?`, [created.snapshot_id]);
    });
    expect(gone.findings.map((f) => f.message)).toContainEqual(expect.stringMatching(/A correction of invoice 700001-202604 \(leaf \d+\) is no longer in the archive: it was deleted/));
  });

  it('leaves Ledger re-posting the first bill, or a differing one, with 409', async () => {
    const same = await server.api('/api/snapshot', { method: 'POST', json: original });
    expect(same.status).toBe(409);
    expect((await same.json()).error).toMatch(/already been archived \(corrected: revision 2 is the bill now\)/);
    const other = await server.api('/api/snapshot', { method: 'POST', json: { ...corrected, notes: 'posted again' } });
    expect(other.status).toBe(409);
  });
});

describe('a correction refused', () => {
  const refused = async (body: unknown, status: number, message: RegExp, inv = invoice, token = ADMIN_TOKEN) => {
    const before = await rowCounts();
    const res = await server.api(`/api/snapshot/${inv}/corrections`, { method: 'POST', json: body, token });
    expect(res.status, await res.clone().text()).toBe(status);
    expect((await res.json()).error).toMatch(message);
    expect(await rowCounts()).toEqual(before);
  };

  it('without a reason, with both or neither source, or by a token that is not admin', async () => {
    await refused({ bill: corrected }, 400, /reason is required/);
    await refused({ bill: corrected, reason: '  ' }, 400, /reason must say why/);
    await refused({ reason: 'because' }, 400, /give the corrected bill \(bill\) or from_ledger: true/);
    await refused({ bill: corrected, from_ledger: true, reason: 'because' }, 400, /one of them/);
    await refused({ bill: corrected, reason: 'because' }, 403, /needs the admin permission/, invoice, SERVICE_TOKEN);
  });

  it('for another invoice, company or month, or an invoice never archived', async () => {
    await refused({ bill: { ...corrected, billing_month: 5, invoice_number: '700001-202605' }, reason: 'moved' }, 400, /bill\.invoice_number must be 700001-202604.*bill\.billing_month must be 4/);
    await refused({ bill: makeBill({ company_account_number: '700009', billing_month: 4 }), reason: 'x y z' }, 404, /No archived bill with invoice number 700009-202604/, '700009-202604');
  });

  it('when the bill is invalid, identical to the latest revision, or the revision seen is no longer the latest', async () => {
    await refused({ bill: { ...corrected, total_amount: 'lots' }, reason: 'broken' }, 400, /bill\.total_amount must be a decimal number/);
    await refused({ bill: corrected, reason: 'again' }, 409, /the same as revision 2 of invoice 700001-202604: there is nothing to correct/);
    await refused({ bill: { ...corrected, total_amount: 127.49 }, reason: 'stale view', supersedes_revision: 1 }, 409, /is at revision 2 now, not 1/);
  });

  it('when two corrections race: one wins, the other is told to look again', async () => {
    const other = makeBill({ company_account_number: '700002', billing_month: 4 });
    const [a, b] = await Promise.all(
      [0.3, 0.4].map((amount) =>
        correct(
          {
            bill: {
              ...other,
              line_items: [{ line_type: 'custom', item_name: 'Fix', description: 'Fix', quantity: 1, rate: amount, amount }],
              total_amount: amount,
              total_user_charges: null,
              total_line_item_charges: amount,
            },
            reason: `race ${amount}`,
            supersedes_revision: 1,
          },
          other.invoice_number,
        ),
      ),
    );
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    const loser = a.status === 409 ? a : b;
    expect((await loser.json()).error).toMatch(/Another correction of invoice 700002-202604 was archived as revision 2 a moment ago|is at revision 2 now, not 1/);
  });

  it('by the database itself when a correction row does not supersede the latest revision of the same bill', async () => {
    const first = await server.db.knex('billing_snapshots').where({ invoice_number: invoice, revision: 1 }).first();
    const { id: _id, archived_at: _at, ...row } = first;
    const insert = (over: Record<string, unknown>) =>
      server.db.knex('billing_snapshots').insert({ ...row, billing_data_json: JSON.stringify(row.billing_data_json), warnings: '[]', correction_reason: 'x', corrected_by: 'sql', ...over });
    await expect(insert({ revision: 3, supersedes_id: first.id })).rejects.toThrow(/must supersede the latest revision|billing_snapshots_superseded_once/);
    await expect(insert({ revision: 2, supersedes_id: null })).rejects.toThrow(/billing_snapshots_correction_complete/);
    const other = await server.db.knex('billing_snapshots').whereNot({ invoice_number: invoice }).orderBy('revision', 'desc').first();
    await expect(insert({ revision: other.revision + 1, supersedes_id: other.id })).rejects.toThrow(/must supersede the latest revision of the same invoice/);
  });
});

describe('a correction from Ledger, after a dry run found the bill changed', () => {
  let w: RunWorld;
  beforeAll(async () => {
    w = await startRunWorld({ companies: 6 });
  }, 60_000);
  afterAll(() => w?.stop());

  it('fetches the bill again, shows the difference, archives it, and the next dry run finds it archived', async () => {
    expect((await w.runToEnd({ year: 2026, month: 10, dry_run: false })).counts.archived).toBeGreaterThan(0);
    const changed = accountNumber(2);
    w.sim.settings.changedAccounts = [changed];
    const dry = await w.runToEnd({ year: 2026, month: 10, dry_run: true });
    expect(dry.counts.changed_since_archived).toBe(1);
    const item = (await (await w.admin(`/api/scheduler/jobs/${dry.id}?outcome=changed_since_archived`)).json()).items.items[0];

    const preview: CorrectionPreview = await (await w.admin(`/api/snapshot/${item.invoice_number}/corrections/preview`, { method: 'POST', json: { from_ledger: true } })).json();
    expect(preview.proposed).toMatchObject({ revision: 2, source: 'correction_ledger', total_amount: item.details.ledger_total });
    expect(preview.differences.lines).toEqual([expect.objectContaining({ change: 'added', proposed: expect.objectContaining({ item_name: expect.stringContaining('Late adjustment') }) })]);

    const res = await w.admin(`/api/snapshot/${item.invoice_number}/corrections`, {
      method: 'POST',
      json: { from_ledger: true, reason: 'Late adjustment agreed with the customer', supersedes_revision: 1, expected_content_hash: preview.proposed.content_hash },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const now: SnapshotDetail = await (await w.admin(`/api/snapshot/${item.invoice_number}`)).json();
    expect(now).toMatchObject({ revision: 2, source: 'correction_ledger', total_amount: item.details.ledger_total, created_by: 'archive-correction' });

    const again = await w.runToEnd({ year: 2026, month: 10, dry_run: true });
    expect(again.counts).toMatchObject({ changed_since_archived: 0, already_archived: dry.counts.already_archived + 1 });
    await integrated(w.server);
    const report = await verifyArchive(w.server.db.knex, { verifierKey: (await (await w.server.api('/api/integrity/key')).text()).trim(), threads: 0 });
    expect(report.findings).toEqual([]);
  });

  it("refuses when Ledger's bill changed since the preview, or Ledger cannot give it", async () => {
    const account = accountNumber(3);
    const inv: SnapshotDetail = (await (await w.admin(`/api/snapshots/search?account_number=${account}`)).json()).results[0];
    const stale = await w.admin(`/api/snapshot/${inv.invoice_number}/corrections`, { method: 'POST', json: { from_ledger: true, reason: 'looked earlier', expected_content_hash: 'a'.repeat(64) } });
    // Ledger's bill is the archived one: nothing to correct is said first.
    expect(stale.status).toBe(409);
    expect((await stale.json()).error).toMatch(/nothing to correct/);
    w.sim.settings.changedAccounts = [account];
    const changedSince = await w.admin(`/api/snapshot/${inv.invoice_number}/corrections`, {
      method: 'POST',
      json: { from_ledger: true, reason: 'looked earlier', expected_content_hash: 'a'.repeat(64) },
    });
    expect(changedSince.status).toBe(409);
    expect((await changedSince.json()).error).toMatch(/not the one the preview showed/);
    w.sim.settings.failingAccounts = [account];
    const down = await w.admin(`/api/snapshot/${inv.invoice_number}/corrections/preview`, { method: 'POST', json: { from_ledger: true } });
    expect(down.status).toBe(503);
    expect((await down.json()).error).toMatch(/^Ledger cannot give the bill of \d+ for 2026-10 again/);
  });
});
