/**
 * `archive import-legacy` against a database in the earlier Archive's schema, filled with the
 * real Ledger's bills as the Python Archive stored them: each row through the rules of a post,
 * archived in bulk, each refused row reported with the reason (two bills for one period:
 * both), idempotent, and what it archived is served and verifies like any bill.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLegacyCommand } from '../../server/cli/import-legacy';
import { openDatabase, type Database } from '../../server/db/database';
import { importLegacy, legacyInstant } from '../../server/ops/import-legacy';
import { prepareLegacyBatch, readLegacyRows } from '../../server/ops/legacy-bill';
import { StartupError } from '../../server/startup-error';
import { verifyArchive } from '../../server/integrity/verify';
import { fixtureBills, makeBill } from '../helpers/fixtures';
import { freshDatabase } from '../helpers/db';
import { integrated } from '../helpers/integrity';
import { insertLegacyBills, LEGACY_SCHEMA } from '../helpers/legacy';
import { adminQuery, databaseUrl } from '../helpers/pg';
import { startTestServer, testConfig, type TestServer } from '../helpers/server';

let server: TestServer;
let legacy: Database;
const name = `archive_legacy_${Date.now()}`;
const from = databaseUrl(name);
const fixtures = fixtureBills();
let duplicateIds: number[];

beforeAll(async () => {
  await adminQuery(`CREATE DATABASE ${name}`);
  legacy = await openDatabase({ databaseUrl: from, dataDir: '/nonexistent', poolMax: 2 });
  await legacy.knex.raw(LEGACY_SCHEMA);
  // The real bills, one of them without its line items (its JSON holds them).
  await insertLegacyBills(
    legacy.knex,
    fixtures.map((b, i) => ({ body: b.body, withoutLines: i === 3 })),
  );
  // Two bills for one company and month (no rule stopped it), a row whose JSON is broken, a month 13.
  duplicateIds = await insertLegacyBills(legacy.knex, [
    { body: makeBill({ company_account_number: '840001', billing_year: 2025, billing_month: 6, invoice_number: '840001-202506' }) },
    { body: makeBill({ company_account_number: '840001', billing_year: 2025, billing_month: 6, invoice_number: '840001-202506-B' }) },
  ]);
  await insertLegacyBills(legacy.knex, [
    { body: makeBill({ company_account_number: '840002', invoice_number: '840002-202503' }), billingDataText: '{"receipt": ' },
    { body: makeBill({ company_account_number: '840003', billing_month: 13, invoice_number: '840003-202513' }) },
  ]);
  server = await startTestServer();
}, 90_000);
afterAll(async () => {
  await server?.stop();
  await legacy?.close();
  await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

describe('archive import-legacy', () => {
  it('reads an old timestamp in the old server’s zone', () => {
    expect(legacyInstant('2026-02-01T09:15:00.123456', 'Europe/Berlin')!.toISOString()).toBe('2026-02-01T08:15:00.123Z');
    expect(legacyInstant('2026-07-01 09:15:00', 'Europe/Berlin')!.toISOString()).toBe('2026-07-01T07:15:00.000Z');
    expect(legacyInstant('yesterday', 'UTC')).toBeUndefined();
  });

  it('a dry run says what it would do and writes nothing', async () => {
    const r = await importLegacy(server.db.knex, { from, tolerance: '0.05', timeZone: 'Europe/Berlin', dryRun: true });
    expect(r).toMatchObject({ read: fixtures.length + 4, imported: fixtures.length, dry_run: true });
    expect(Number((await server.db.knex('billing_snapshots').count({ n: '*' }).first())!.n)).toBe(0);
  });

  it('imports every bill that passes the rules in bulk and names each refused row with the reason', async () => {
    const out: string[] = [];
    const code = await importLegacyCommand(
      testConfig({ DATABASE_URL: server.database.url, ARCHIVE_TIMEZONE: 'Europe/Berlin' }),
      { from },
      (l) => out.push(l),
      () => undefined,
    );
    const text = out.join('\n');
    expect(code).toBe(1);
    expect(text).toMatch(new RegExp(`^Imported ${fixtures.length} of ${fixtures.length + 4} bills from postgres://.* \\(\\d+ bills/s\\); 0 already archived, 4 refused\\.$`, 'm'));
    expect(text).toMatch(
      new RegExp(
        `refused: old id ${duplicateIds[0]}, invoice 840001-202506, 840001 2025-06: the old database holds 2 bills for 840001 2025-06; this one and id ${duplicateIds[1]} \\(invoice 840001-202506-B\\): neither is imported\\. Delete the wrong one`,
      ),
    );
    expect(text).toMatch(new RegExp(`refused: old id ${duplicateIds[1]}, invoice 840001-202506-B`));
    expect(text).toMatch(/refused: old id \d+, invoice 840002-202503, .*: billing_data_json is not JSON/);
    expect(text).toMatch(/refused: old id \d+, invoice 840003-202513, .*: does not pass the rules of a post: billing_month/);
    expect(text).toMatch(new RegExp(`Line items rebuilt from the billing data \\(the old database had none\\): ${fixtures[3].body.invoice_number}\\.`));
  });

  it('archives them as any bill: served, with their old time, their lines, their audit entries, and verified', async () => {
    const b = fixtures[0].body;
    const res = await server.api(`/api/snapshot/${b.invoice_number}`);
    expect(res.status).toBe(200);
    const bill = await res.json();
    expect(bill).toMatchObject({ source: 'legacy_import', archived_at: '2026-02-01T08:15:00.123Z', line_item_count: b.line_items.length, company_account_number: b.company_account_number });
    const rebuilt = await (await server.api(`/api/snapshot/${fixtures[3].body.invoice_number}`)).json();
    expect(rebuilt.line_items.length).toBe(fixtures[3].body.line_items.length);
    // The evidence: the bill as read from the old row, its billing data the old JSON text itself.
    const old = await legacy.knex('billing_snapshots').where({ invoice_number: b.invoice_number }).first();
    const { raw_body } = await server.db.knex('billing_snapshots').where({ invoice_number: b.invoice_number }).first('raw_body');
    expect(raw_body).toContain(`"billing_data_json":${old.billing_data_json}`);
    expect(JSON.parse(raw_body)).toMatchObject({ invoice_number: b.invoice_number, billing_data_json: JSON.parse(old.billing_data_json), line_items: expect.any(Array) });
    const audit = await server.db.knex('audit_log').where({ action: 'bill.archived', subject: b.invoice_number }).first();
    expect(audit.details).toMatchObject({ source: 'legacy_import' });
    await integrated(server);
    const key = (await (await server.api('/api/integrity/key')).text()).trim();
    const report = await verifyArchive(server.db.knex, { verifierKey: key });
    expect(report.findings).toEqual([]);
    expect(report.bills).toBe(fixtures.length);
  });

  it('adds nothing the second time', async () => {
    const r = await importLegacy(server.db.knex, { from, tolerance: '0.05', timeZone: 'Europe/Berlin' });
    expect(r).toMatchObject({ read: fixtures.length + 4, imported: 0, already_archived: fixtures.length });
    expect(r.refused).toHaveLength(4);
    expect(Number((await server.db.knex('billing_snapshots').count({ n: '*' }).first())!.n)).toBe(fixtures.length);
  });

  it("checks a batch row by row as it is read, in the order asked, and tells its own failure from the old database's", async () => {
    const trx = await legacy.knex.transaction({ isolationLevel: 'repeatable read', readOnly: true });
    try {
      const snapshot = (await trx.raw('SELECT pg_export_snapshot() AS snapshot')).rows[0].snapshot as string;
      const ids = (await legacy.knex('billing_snapshots').orderBy('id', 'desc').limit(5).pluck('id')).map(Number);
      const batch = await prepareLegacyBatch({ from, snapshot, rows: ids.map((id) => ({ id, newId: null })), tolerance: '0.05', timeZone: 'UTC' });
      expect(batch.results.map((r) => r.id)).toEqual(ids);
      const seen: number[] = [];
      const own = readLegacyRows(from, snapshot, ids, ({ row, lines }) => {
        seen.push(Number(row.id));
        expect(Array.isArray(lines)).toBe(true);
        if (seen.length === 2) throw new Error('the check failed');
      });
      // The error of the check itself, as it was thrown: not said as the old database's.
      await expect(own).rejects.toThrow(/^the check failed$/);
      expect(seen).toHaveLength(2);
      // A row the task names that the old database does not hold is the import's own error.
      await expect(prepareLegacyBatch({ from, snapshot, rows: [{ id: -7, newId: null }], tolerance: '0.05', timeZone: 'UTC' })).rejects.toThrow(/internal: old row -7 was not read/);
    } finally {
      await trx.rollback();
    }
  });

  it('reads each batch of old rows as the old database was when the import began', async () => {
    // What the import's transaction does: export its snapshot; the workers read in it.
    const exported = async () => {
      const trx = await legacy.knex.transaction({ isolationLevel: 'repeatable read', readOnly: true });
      const { rows } = await trx.raw('SELECT pg_export_snapshot() AS snapshot');
      return { trx, snapshot: rows[0].snapshot as string };
    };
    const old = await legacy.knex('billing_snapshots').where({ invoice_number: fixtures[0].body.invoice_number }).first('id', 'company_name');
    const began = await exported();
    const task = (snapshot: string) => ({ from, snapshot, rows: [{ id: old.id, newId: null }], tolerance: '0.05', timeZone: 'UTC' });
    try {
      const before = await prepareLegacyBatch(task(began.snapshot));
      expect(before.results[0]).toMatchObject({ ok: true, bill: { invoice_number: fixtures[0].body.invoice_number } });
      await legacy.knex('billing_snapshots').where({ id: old.id }).update({ company_name: 'Renamed meanwhile' });
      try {
        expect((await prepareLegacyBatch(task(began.snapshot))).results).toEqual(before.results);
        // A snapshot taken after the change sees it (another content hash).
        const later = await exported();
        try {
          const now = await prepareLegacyBatch(task(later.snapshot));
          expect(now.results[0]).toMatchObject({ ok: true });
          expect(now.results).not.toEqual(before.results);
        } finally {
          await later.trx.rollback();
        }
      } finally {
        await legacy.knex('billing_snapshots').where({ id: old.id }).update({ company_name: old.company_name });
      }
    } finally {
      await began.trx.rollback();
    }
  });

  it('says when the old line items have no index on their bill and how to add one, and not once they have', async () => {
    const big = `archive_legacy_lines_${Date.now()}`;
    await adminQuery(`CREATE DATABASE ${big}`);
    const old = await openDatabase({ databaseUrl: databaseUrl(big), dataDir: '/nonexistent', poolMax: 2 });
    try {
      await old.knex.raw(LEGACY_SCHEMA);
      await insertLegacyBills(old.knex, [{ body: fixtures[0].body }]);
      // Half a million old lines (belonging to no bill, so the import reads none of them).
      await old.knex.raw(`INSERT INTO snapshot_line_items (line_type, item_name, quantity, rate, amount) SELECT 'user', 'x', 1, 1, 1 FROM generate_series(1, 500000)`);
      await old.knex.raw('ANALYZE snapshot_line_items');
      const told: string[] = [];
      const r = await importLegacy(server.db.knex, { from: databaseUrl(big), tolerance: '0.05', timeZone: 'UTC', dryRun: true, onNotice: (t) => told.push(t) });
      expect(r.notices).toEqual([
        'The old database has no index on snapshot_line_items (snapshot_id): each batch of 500 bills scans all its line items (about 500,000). This import goes on; to make it faster, stop it (Ctrl-C: it imports nothing then), create one there (CREATE INDEX ON snapshot_line_items (snapshot_id); it changes no row) and run it again.',
      ]);
      expect(told).toEqual(r.notices);
      expect(r).toMatchObject({ read: 1, imported: 0, already_archived: 1 });
      await old.knex.raw('CREATE INDEX ON snapshot_line_items (snapshot_id)');
      expect((await importLegacy(server.db.knex, { from: databaseUrl(big), tolerance: '0.05', timeZone: 'UTC', dryRun: true })).notices).toEqual([]);
    } finally {
      await old.close();
      await adminQuery(`DROP DATABASE IF EXISTS ${big} WITH (FORCE)`);
    }
  });

  it('when the old database goes away while it runs: says so in words, and imports nothing', async () => {
    const target = await freshDatabase();
    let closed: Promise<unknown> | undefined;
    const run = importLegacy(target.knex, {
      from,
      tolerance: '0.05',
      timeZone: 'UTC',
      batchSize: 1,
      // After the first batch (of thirteen), the old database takes no new connection (the import's own stays open).
      onProgress: () => void (closed ??= adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)),
    });
    try {
      await expect(run).rejects.toThrow(/^Cannot read the old database \(old rows \d+ to \d+\): database ".*" is not currently accepting connections$/);
      await expect(run).rejects.toBeInstanceOf(StartupError); // the CLI says it in one line, without a stack
      // The batches written before it are rolled back with the import's transaction.
      expect(Number((await target.knex('billing_snapshots').count({ n: '*' }).first())!.n)).toBe(0);
    } finally {
      await closed;
      await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
      await target.drop();
    }
  });

  it('when a bill is archived while it runs: imports nothing and says to run it again', async () => {
    const target = await freshDatabase();
    try {
      // A post of the last old bill, still uncommitted when the import looks at what is archived.
      const last = fixtures[fixtures.length - 1].body;
      const trx = await target.knex.transaction();
      await trx.raw(
        `INSERT INTO billing_snapshots (company_account_number, invoice_number, billing_year, billing_month, invoice_date, total_amount, billing_data_json, invoice_csv, content_hash)
         VALUES (?, ?, ?, ?, ?, 1, '{}', 'x', repeat('a', 64))`,
        [last.company_account_number, last.invoice_number, last.billing_year, last.billing_month, last.invoice_date],
      );
      let committed: Promise<void> | undefined;
      const run = importLegacy(target.knex, { from, tolerance: '0.05', timeZone: 'Europe/Berlin', batchSize: 2, onProgress: () => void (committed ??= trx.commit().then(() => undefined)) });
      await expect(run).rejects.toThrow(/^a bill was archived while the import ran \(Key \(.*\)=\(.*\) already exists\.\): nothing was imported; run the import again/);
      await committed;
      expect(Number((await target.knex('billing_snapshots').count({ n: '*' }).first())!.n)).toBe(1);
    } finally {
      await target.drop();
    }
  });

  it('refuses a database that is not the earlier Archive’s, in words', async () => {
    await expect(importLegacy(server.db.knex, { from: server.database.url, tolerance: '0.05', timeZone: 'UTC' })).rejects.toThrow(
      /is a database of this Archive \(it has content_hash\), not the earlier one/,
    );
    // One that cannot be reached: what is wrong, without a stack.
    await expect(importLegacy(server.db.knex, { from: databaseUrl('archive_legacy_missing'), tolerance: '0.05', timeZone: 'UTC' })).rejects.toThrow(
      /^Cannot read the old database postgres:\/\/.*\/archive_legacy_missing \(--from\): database "archive_legacy_missing" does not exist: check the database name in --from$/,
    );
    await expect(importLegacy(server.db.knex, { from: 'postgres://postgres@127.0.0.1:1/old', tolerance: '0.05', timeZone: 'UTC' })).rejects.toThrow(
      'Cannot read the old database postgres://postgres@127.0.0.1:1/old (--from): nothing is listening at that host and port (is PostgreSQL running?)',
    );
  });
});
