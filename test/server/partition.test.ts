/**
 * `archive partition-by-year` (migrations/partition-by-year.ts) on an archive with bills of three
 * years and a correction: every bill kept as it was and verified, each in its year's partition,
 * every rule of the schema still held by the database (the keys, immutability, the log queue,
 * line items only with their bill), the server working on it, and `--undo` back to one table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { startServer, type RunningServer } from '../../server/main';
import { openDatabase, type Database } from '../../server/db/database';
import { createLogger } from '../../server/log';
import { partitionCommand } from '../../server/cli/partition';
import { verifyArchive } from '../../server/integrity/verify';
import { runDoctor } from '../../server/ops/doctor';
import { ArchiveClient } from '../../shared/archive-client';
import { makeBill } from '../helpers/fixtures';
import { integrated, tampered } from '../helpers/integrity';
import { ADMIN_TOKEN, SERVICE_TOKEN, startTestServer, testConfig, type TestServer } from '../helpers/server';

let first: TestServer;
let running: RunningServer | undefined;
let knex: Knex;
let own: Database;
let url: string;
let key: string;
const now = new Date('2026-12-04T10:00:00Z');
const bills = [2024, 2025, 2026].flatMap((year) => [1, 2].map((i) => makeBill({ company_account_number: `61000${i}`, billing_year: year, billing_month: 5 })));

/** The server again on the same database, as after `systemctl start archive`. */
async function serve() {
  running = await startServer(testConfig({ DATABASE_URL: url }), { log: createLogger('silent'), quiet: true });
  const service = new ArchiveClient(running.url, SERVICE_TOKEN);
  const admin = new ArchiveClient(running.url, ADMIN_TOKEN);
  return { api: (p: string, init: Parameters<ArchiveClient['send']>[1] = {}) => service.send(p, init), admin: (p: string, init: Parameters<ArchiveClient['send']>[1] = {}) => admin.send(p, init) };
}
async function stop() {
  await running?.close();
  running = undefined;
}
async function partition(opts: { undo?: boolean; through?: number } = {}) {
  const out: string[] = [];
  const code = await partitionCommand(testConfig({ DATABASE_URL: url }), { now, ...opts }, (l) => out.push(l));
  return { code, text: out.join('\n') };
}
const refused = (sql: string) => knex.transaction((trx) => trx.raw(sql));
const relkind = async () => (await knex.raw(`SELECT relkind FROM pg_class WHERE oid = 'billing_snapshots'::regclass`)).rows[0].relkind;
/** `archive verify` finds nothing: how many bills it checked. */
const verifiedBills = async () => {
  const report = await verifyArchive(knex, { verifierKey: key });
  expect(report.findings).toEqual([]);
  return report.bills;
};
const stored = async () => (await knex.raw(`SELECT id, invoice_number, content_hash, billing_data_json::text AS data, raw_body FROM billing_snapshots ORDER BY id`)).rows;

beforeAll(async () => {
  first = await startTestServer();
  url = first.database.url;
  own = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', poolMax: 2 });
  knex = own.knex;
  key = (await (await first.api('/api/integrity/key')).text()).trim();
  for (const b of bills) expect((await first.api('/api/snapshot', { method: 'POST', json: b })).status).toBe(201);
  const corrected = makeBill({
    company_account_number: bills[0].company_account_number,
    billing_year: 2024,
    billing_month: 5,
    line_items: [{ line_type: 'user', item_name: 'Ada', description: 'User: Ada (Paid)', quantity: 1, rate: 0.1, amount: 0.1 }],
  });
  const c = await first.api(`/api/snapshot/${bills[0].invoice_number}/corrections`, {
    method: 'POST',
    json: { bill: corrected, reason: 'a note was missing', supersedes_revision: 1 },
    token: ADMIN_TOKEN,
  });
  expect(c.status, await c.clone().text()).toBe(201);
  await integrated(first);
  await first.close();
}, 90_000);
afterAll(async () => {
  await stop();
  await own?.close();
  await first?.database.drop();
});

describe('archive partition-by-year', () => {
  let before: unknown[];

  it('moves every bill into its year, unchanged, in one step', async () => {
    before = await stored();
    const { code, text } = await partition();
    expect(code).toBe(0);
    expect(text).toMatch(/^billing_snapshots is now partitioned by billing_year: 4 yearly partitions \(2024–2027\) and one each for the years before and after/);
    expect(text).toMatch(/billing_snapshots_y2024: 3 bills/);
    expect(text).not.toMatch(/before_2024/);
    expect(text).toMatch(/billing_snapshots_y2025: 2 bills/);
    expect(text).toMatch(/billing_snapshots_y2026: 2 bills/);
    expect(await relkind()).toBe('p');
    expect(await stored()).toEqual(before);
    // The big texts stay compressed with lz4 in every partition.
    const { rows } = await knex.raw(`SELECT DISTINCT a.attcompression FROM pg_attribute a JOIN pg_inherits i ON i.inhrelid = a.attrelid
      WHERE i.inhparent = 'billing_snapshots'::regclass AND a.attname IN ('billing_data_json', 'invoice_csv', 'raw_body')`);
    expect(rows).toEqual([{ attcompression: 'l' }]);
    expect(await verifiedBills()).toBe(bills.length + 1);
    // Who changed the schema, and how: in the audit trail.
    const entry = await knex('audit_log').where('action', 'schema.partitioned').orderBy('id', 'desc').first();
    expect(entry.details).toEqual({ change: 'partitioned', through: 2027 });
  });

  it('is seen by the doctor as the same archive: its triggers, its size with its partitions', async () => {
    const f = await runDoctor(testConfig({ DATABASE_URL: url }), { peers: false, now });
    expect(f.find((x) => /triggers that keep archived rows immutable/.test(x.message))?.status).toBe('OK');
    const db = f.find((x) => x.area === 'database' && /bills \(1 corrections\)/.test(x.message));
    expect(db?.message).toMatch(/billing_snapshots (0\.[1-9]|[1-9])[\d.]* MB/);
    expect(db?.message).toMatch(/ 7 bills /);
    expect(f.find((x) => /partitioned by year/.test(x.message))).toMatchObject({ status: 'OK', message: 'billing_snapshots is partitioned by year, through 2027' });
    // A year on, the next year has no partition of its own yet: said, with what to do.
    const later = await runDoctor(testConfig({ DATABASE_URL: url }), { peers: false, now: new Date('2027-03-01T00:00:00Z') });
    expect(later.find((x) => /partitioned by year/.test(x.message))).toMatchObject({ status: 'WARN', action: expect.stringMatching(/archive partition-by-year/) });
  });

  it('is said, not done, a second time', async () => {
    const { text } = await partition();
    expect(text).toMatch(/^billing_snapshots is partitioned by billing_year: 4 yearly partitions/);
    expect(text).toMatch(/Nothing to do: run it again next year/);
  });

  it('leaves the server working: new bills in their year, duplicates refused as before, the log fed', async () => {
    const { api } = await serve();
    const fresh = makeBill({ company_account_number: '610003', billing_year: 2026, billing_month: 6 });
    expect((await api('/api/snapshot', { method: 'POST', json: fresh })).status).toBe(201);
    expect((await knex.raw(`SELECT count(*)::int AS n FROM billing_snapshots_y2026 WHERE invoice_number = ?`, [fresh.invoice_number])).rows[0].n).toBe(1);
    const again = await api('/api/snapshot', { method: 'POST', json: fresh });
    expect(again.status).toBe(409);
    // The same invoice number in another year: the invoice key still spans the years.
    const otherYear = await api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '610004', billing_year: 2025, billing_month: 6, invoice_number: fresh.invoice_number }) });
    expect(otherYear.status).toBe(409);
    expect(await otherYear.json()).toMatchObject({
      error: expect.stringMatching(/^Invoice 610003-202606 has already been archived/),
      details: { conflict: 'invoice_number', existing: { invoice_number: fresh.invoice_number } },
    });
    // The same invoice for another company in the same year, and the company and period key: each named as before.
    const sameYear = await api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '610004', billing_year: 2026, billing_month: 6, invoice_number: fresh.invoice_number }) });
    expect(await sameYear.json()).toMatchObject({ details: { conflict: 'invoice_number', existing: { invoice_number: fresh.invoice_number } } });
    const period = await api('/api/snapshot', { method: 'POST', json: { ...fresh, invoice_number: '610003-OTHER' } });
    expect(period.status).toBe(409);
    expect(await period.json()).toMatchObject({ details: { conflict: 'company_period', existing: { invoice_number: fresh.invoice_number } } });
    expect((await api(`/api/snapshot/${bills[2].invoice_number}`)).status).toBe(200);
    const search = await (await api('/api/snapshots/search?account_number=610001')).json();
    expect(search.total).toBe(3);
    await integrated({ api });
    expect(await verifiedBills()).toBe(bills.length + 2);
    await stop();
  });

  it('adds years later, leaving the bills of the years after the last where they are', async () => {
    const { api } = await serve();
    const later = makeBill({ company_account_number: '610006', billing_year: 2028, billing_month: 1 });
    expect((await api('/api/snapshot', { method: 'POST', json: later })).status).toBe(201);
    await integrated({ api });
    await stop();
    const rows = await stored();
    const { text } = await partition({ through: 2030 });
    expect(text).toMatch(/added: billing_snapshots_y2029, billing_snapshots_y2030, billing_snapshots_from_2031/);
    expect(text).toMatch(/billing_snapshots_2028_to_2028: 1 bills/);
    expect((await knex('audit_log').where('action', 'schema.partitioned').orderBy('id', 'desc').first()).details).toMatchObject({ change: 'extended', through: 2030 });
    expect(await stored()).toEqual(rows);
    // The years after the last still take bills, with the same triggers.
    await expect(refused(`TRUNCATE billing_snapshots_2028_to_2028`)).rejects.toThrow(/archived rows are immutable/);
    await expect(refused(`TRUNCATE billing_snapshots_from_2031`)).rejects.toThrow(/archived rows are immutable/);
    await verifiedBills();
  });

  it('keeps every rule in the database itself, for the table and for each partition', async () => {
    for (const table of ['billing_snapshots', 'billing_snapshots_y2025']) {
      await expect(refused(`UPDATE ${table} SET notes = 'x'`)).rejects.toThrow(/archived rows are immutable/);
      await expect(refused(`DELETE FROM ${table}`)).rejects.toThrow(/archived rows are immutable/);
      await expect(refused(`TRUNCATE ${table}`)).rejects.toThrow(/archived rows are immutable/);
    }
    // Line items: only of a bill that exists, only in the transaction that archived it.
    const line = `(snapshot_id, position, line_type, item_name, quantity, rate, amount) VALUES (%s, 99, 'user', 'Eve', 1, 1, 1)`;
    await expect(refused(`INSERT INTO snapshot_line_items ${line.replace('%s', '987654321')}`)).rejects.toThrow(/violates foreign key constraint "snapshot_line_items_snapshot_id_foreign"/);
    const { id } = (await knex.raw(`SELECT id FROM billing_snapshots ORDER BY id LIMIT 1`)).rows[0];
    await expect(refused(`INSERT INTO snapshot_line_items ${line.replace('%s', id)}`)).rejects.toThrow(/line items cannot be added to a bill archived earlier/);
    // An id is one bill's, whatever the year.
    await expect(
      refused(`INSERT INTO billing_snapshots_y2025 (id, company_account_number, invoice_number, billing_year, billing_month, invoice_date, total_amount, billing_data_json, invoice_csv, content_hash)
        SELECT id, '610008', '610008-SLIPPED', 2025, 1, '2025-01-28', 1, '{}', 'x', repeat('a', 64) FROM billing_snapshots WHERE billing_year = 2026 LIMIT 1`),
    ).rejects.toThrow(/duplicate key value violates unique constraint "billing_snapshots_pkey"/);
    // The owner can drop a year's partition (as it can drop a trigger): verify names each bill gone.
    const dropped = await tampered(knex, key, (trx) => trx.raw(`DROP TABLE billing_snapshots_y2025`));
    expect(dropped.findings.filter((f) => /is no longer in the archive: the bill was deleted/.test(f.message)).map((f) => f.invoice_number)).toEqual(
      expect.arrayContaining([bills[2].invoice_number, bills[3].invoice_number]),
    );
    // A bill written into a partition directly is queued for the log and counted all the same.
    await knex
      .transaction(async (trx) => {
        const queued = async () => (await trx.raw(`SELECT count(*)::int AS n FROM log_queue`)).rows[0].n;
        const q0 = await queued();
        await trx.raw(`INSERT INTO billing_snapshots_y2025 (company_account_number, invoice_number, billing_year, billing_month, invoice_date, total_amount, billing_data_json, invoice_csv, content_hash)
          VALUES ('610009', '610009-202507', 2025, 7, '2025-07-28', 1, '{}', 'x', repeat('a', 64))`);
        expect(await queued()).toBe(q0 + 1);
        throw new Error('rollback');
      })
      .catch((err: Error) => expect(err.message).toBe('rollback'));
  });

  it('goes back to one table with --undo, as the migrations leave it', async () => {
    const partitioned = await stored();
    expect((await partition({ undo: true })).text).toMatch(/^billing_snapshots is one table again/);
    expect(await relkind()).toBe('r');
    expect(await stored()).toEqual(partitioned);
    const { rows: fks } = await knex.raw(`SELECT conname FROM pg_constraint WHERE contype = 'f' AND confrelid = 'billing_snapshots'::regclass ORDER BY conname`);
    expect(fks.map((r: { conname: string }) => r.conname)).toEqual(['billing_snapshots_supersedes_id_fkey', 'snapshot_line_items_snapshot_id_foreign']);
    const { rows: triggers } = await knex.raw(`SELECT tgname FROM pg_trigger WHERE tgrelid = 'billing_snapshots'::regclass AND NOT tgisinternal ORDER BY tgname`);
    expect(triggers.map((r: { tgname: string }) => r.tgname)).toEqual([
      'billing_snapshots_correction',
      'billing_snapshots_count',
      'billing_snapshots_immutable',
      'billing_snapshots_log',
      'billing_snapshots_no_truncate',
    ]);
    expect((await partition({ undo: true })).text).toBe('billing_snapshots is not partitioned: nothing to undo.');
    const { api } = await serve();
    expect((await api('/api/snapshot', { method: 'POST', json: makeBill({ company_account_number: '610005', billing_year: 2026, billing_month: 7 }) })).status).toBe(201);
    await integrated({ api });
    expect(await verifiedBills()).toBe(bills.length + 4);
    await stop();
  });

  it('keeps an invoice number once across years at any isolation level, and takes bulk writes', async () => {
    await partition();
    const insert = (trx: Knex.Transaction, year: number) =>
      trx.raw(
        `INSERT INTO billing_snapshots (company_account_number, invoice_number, billing_year, billing_month, invoice_date, total_amount, billing_data_json, invoice_csv, content_hash)
         VALUES ('610010', 'RACE-1', ?, 1, ?, 1, '{}', 'x', repeat('a', 64))`,
        [year, `${year}-01-28`],
      );
    // Two transactions take the same invoice number for two years; the second waits for the first, then is refused.
    const t1 = await knex.transaction({ isolationLevel: 'repeatable read' });
    const t2 = await knex.transaction({ isolationLevel: 'repeatable read' });
    try {
      await t1.raw('SELECT 1');
      await t2.raw('SELECT 1');
      await insert(t1, 2024);
      const second = Promise.resolve(insert(t2, 2026)); // one execution: each then() of a knex query runs it again
      second.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      await t1.rollback();
      await second;
      const t3 = await knex.transaction({ isolationLevel: 'repeatable read' });
      const third = Promise.resolve(insert(t3, 2025));
      third.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
      await t2.commit();
      await expect(third).rejects.toThrow(/"billing_snapshots_invoice_number_key"/);
      await t3.rollback();
    } finally {
      if (!t1.isCompleted()) await t1.rollback();
      if (!t2.isCompleted()) await t2.rollback();
    }
    // 20,000 bills in one transaction (an import's size): no lock per row to run out of.
    await knex
      .transaction(async (trx) => {
        await trx.raw(`INSERT INTO billing_snapshots (company_account_number, invoice_number, billing_year, billing_month, invoice_date, total_amount, billing_data_json, invoice_csv, content_hash)
          SELECT (700000 + g % 1000)::text, 'BULK-' || g, 2020 + g / 1000 % 8, 1 + g / 8000, '2025-01-28', 1, '{}', 'x', repeat('a', 64) FROM generate_series(0, 19999) g`);
        throw new Error('rollback');
      })
      .catch((err: Error) => expect(err.message).toBe('rollback'));
    await partition({ undo: true });
  });

  it('refuses a last year before bills already archived, changing nothing', async () => {
    await expect(partition({ through: 2025 })).rejects.toThrow(/--through 2025 is before the latest billing year archived \(2028\)/);
    expect(await relkind()).toBe('r');
  });
});
