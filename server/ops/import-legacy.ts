/**
 * `archive import-legacy --from postgres://...`: the earlier Python Archive's bills moved in
 * (its tables: docs/contract.md section 6). Each old row is read as the bill it stands for, in
 * the API's shape, and goes through the same rules as a post (what can be stored, the schema,
 * the money rule, the totals); what passes is archived in bulk, by COPY, a few hundred bills
 * with their line items and audit entries at a time, in one transaction; each refused row is
 * reported with the reason. Two old bills for one company and month are both refused, with
 * how to resolve it. A bill already archived with the same content is skipped, so a second
 * import adds nothing.
 *
 * The work is a pipeline: this thread reads the keys of a batch of old rows and reserves ids
 * for the new bills; worker threads read those rows in the import's snapshot of the old
 * database, check and hash each bill and encode what passes as COPY rows (the bytes are moved
 * back, not copied); this thread decides what is written and streams those rows to
 * PostgreSQL while the next batches are read and checked. The raw body kept as
 * evidence is the bill as read from the old row, its billing data the old JSON text itself.
 */
import os from 'node:os';
import type { Knex } from 'knex';
import { Piscina } from 'piscina';
import { periodText } from '../../shared/period';
import { cliContext, recordAuditBatch } from '../audit/trail';
import { openDatabase, redactUrl } from '../db/database';
import { describeDbError } from '../db/db-error';
import { reserveSnapshotIds, writeEncodedBatch } from '../snapshots/archive';
import { StartupError } from '../startup-error';
import { workerFile } from '../worker-file';
import { LEGACY_READ_FAILED, OLD_DATABASE_MISSING, prepareLegacyBatch, type LegacyBillKeys, type LegacyRowKeys, type PrepareLegacyTask, type PreparedLegacyBatch } from './legacy-bill';

export { legacyInstant } from './legacy-bill';

export interface Refusal {
  legacy_id: number;
  invoice_number: string | null;
  account: string | null;
  period: string | null;
  reason: string;
}

export interface ImportReport {
  read: number;
  imported: number;
  /** Already in the archive with the same content (an earlier import). */
  already_archived: number;
  refused: Refusal[];
  /** Old bills whose line items were missing and were rebuilt from their billing data. */
  lines_rebuilt: string[];
  /** What the operator may want to know about the old database (said as the import starts, too). */
  notices: string[];
  dry_run: boolean;
  seconds: number;
  bills_per_second: number;
}

export interface ImportOptions {
  from: string;
  tolerance: string;
  /** The old server's time zone: its timestamps are local times without a zone. */
  timeZone: string;
  dryRun?: boolean;
  batchSize?: number;
  /** Worker threads checking and encoding the old rows (default: one per core, at most 4); 0: this thread. */
  threads?: number;
  onProgress?: (done: number, total: number) => void;
  /** Told as soon as it is known: see ImportReport.notices. */
  onNotice?: (text: string) => void;
}

/** Checks that `from` holds the earlier Archive's tables (and not this one's). */
async function checkLegacySchema(legacy: Knex): Promise<void> {
  const { rows } = await legacy.raw(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'billing_snapshots'`);
  const columns = new Set((rows as { column_name: string }[]).map((r) => r.column_name));
  if (columns.size === 0) throw new StartupError("--from has no billing_snapshots table: it is not the earlier Archive's database");
  if (columns.has('content_hash')) throw new StartupError('--from is a database of this Archive (it has content_hash), not the earlier one: nothing to import');
  for (const c of ['invoice_number', 'company_account_number', 'billing_year', 'billing_month', 'billing_data_json', 'invoice_csv', 'total_amount'])
    if (!columns.has(c)) throw new StartupError(`--from's billing_snapshots has no ${c} column: not the earlier Archive's schema (docs/contract.md section 6)`);
}

/** Line items an import scans once for every batch before it costs a tenth more than the bills themselves (measured: PostgreSQL scans about 18 million a second). */
const UNINDEXED_LINES_WORTH_SAYING = 500_000;

/**
 * The earlier Archive's ORM made no index on its line items' snapshot_id: each batch then finds
 * its lines by scanning them all, which grows with the square of a big old database. Said, with
 * the remedy, when it matters; the import reads the old database and never changes it.
 */
async function lineItemsNotice(legacy: Knex, batchSize: number): Promise<string | undefined> {
  const { rows } = await legacy.raw(
    // The planner's estimate (cheap); a table never analyzed has none (-1, or 0 before PostgreSQL 14): its size at about 120 bytes a line.
    `SELECT (CASE WHEN c.reltuples > 0 THEN c.reltuples ELSE pg_relation_size(c.oid) / 120 END)::bigint AS lines,
            EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                     WHERE i.indrelid = c.oid AND i.indisvalid AND a.attname = 'snapshot_id') AS indexed
       FROM pg_class c WHERE c.oid = to_regclass('snapshot_line_items')`,
  );
  const r = rows[0] as { lines: number | string; indexed: boolean } | undefined;
  if (!r || r.indexed || Number(r.lines) < UNINDEXED_LINES_WORTH_SAYING) return undefined;
  const lines = (Math.round(Number(r.lines) / 1000) * 1000).toLocaleString('en-US');
  return `The old database has no index on snapshot_line_items (snapshot_id): each batch of ${batchSize} bills scans all its line items (about ${lines}). This import goes on; to make it faster, stop it (Ctrl-C: it imports nothing then), create one there (CREATE INDEX ON snapshot_line_items (snapshot_id); it changes no row) and run it again.`;
}

/** What passed in one batch: the bills' keys and where their rows lie in the batch's bytes. */
interface Ready {
  legacyId: number;
  bill: LegacyBillKeys;
  bytes: [number, number, number, number];
}

/** The parts of `buf` that `ranges` name, adjoining ones as one. */
function pick(buf: Uint8Array, ranges: [number, number][]): Uint8Array[] {
  const out: [number, number][] = [];
  for (const [start, end] of ranges) {
    const last = out[out.length - 1];
    if (last && last[1] === start) last[1] = end;
    else out.push([start, end]);
  }
  return out.map(([start, end]) => buf.subarray(start, end));
}

/** A batch's bills, their line items and their audit entries, by COPY. */
async function insertBatch(trx: Knex.Transaction, batch: PreparedLegacyBatch, ready: Ready[]): Promise<number> {
  const ctx = cliContext();
  await writeEncodedBatch(
    trx,
    pick(
      batch.bills,
      ready.map((b) => [b.bytes[0], b.bytes[1]]),
    ),
    pick(
      batch.lines,
      ready.map((b) => [b.bytes[2], b.bytes[3]]),
    ),
  );
  await recordAuditBatch(
    trx,
    ready.map((b) => ({
      ...ctx,
      action: 'bill.archived',
      subject: b.bill.invoice_number,
      period: periodText(b.bill.billing_year, b.bill.billing_month),
      details: { source: 'legacy_import', legacy_id: b.legacyId },
    })),
  );
  return ready.length;
}

/** Each worker's young generation: V8 sizes it three semi-spaces. */
const YOUNG_GENERATION_MB = 3 * 64;

export async function importLegacy(knex: Knex, opts: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const legacyDb = await openDatabase({ databaseUrl: opts.from, dataDir: '/nonexistent', poolMax: 2 });
  const threads = opts.threads ?? Math.max(1, Math.min(4, os.availableParallelism()));
  const pool =
    threads > 0
      ? new Piscina<PrepareLegacyTask, PreparedLegacyBatch>({
          filename: workerFile(import.meta.url, 'import-worker'),
          minThreads: threads,
          maxThreads: threads,
          // A batch makes a few hundred megabytes of short-lived objects and strings: a young generation of 64 MB semi-spaces
          // (V8's default is 16) collects them about four times less often, for about 6% less CPU (measured).
          resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
        })
      : undefined;
  const prepare = async (task: PrepareLegacyTask) => (pool ? pool.run(task) : prepareLegacyBatch(task));
  const report: ImportReport = { read: 0, imported: 0, already_archived: 0, refused: [], lines_rebuilt: [], notices: [], dry_run: Boolean(opts.dryRun), seconds: 0, bills_per_second: 0 };
  try {
    // The old database failing (unreachable, gone mid-way) is said in words; the import's own refusals pass as they are.
    const old = <T>(read: PromiseLike<T>): Promise<T> =>
      Promise.resolve(read).catch((err: unknown) => {
        if (err instanceof StartupError) throw err;
        throw new StartupError(`${LEGACY_READ_FAILED} ${redactUrl(opts.from)} (--from): ${describeDbError(err, { missing: OLD_DATABASE_MISSING })}`);
      });
    await old(legacyDb.knex.raw('SELECT 1'));
    await legacyDb.knex.transaction(
      async (legacy) => {
        await old(checkLegacySchema(legacy));
        const size = opts.batchSize ?? 500;
        const notice = await old(lineItemsNotice(legacy, size));
        if (notice) {
          report.notices.push(notice);
          opts.onNotice?.(notice);
        }
        // Two old bills for one company and month: neither is imported.
        const { rows: dups } = await old(
          legacy.raw(`SELECT company_account_number AS account, billing_year AS year, billing_month AS month,
              array_agg(id ORDER BY id) AS ids, array_agg(invoice_number ORDER BY id) AS invoices
            FROM billing_snapshots GROUP BY 1, 2, 3 HAVING count(*) > 1`),
        );
        const twice = new Map<number, string>();
        for (const d of dups as { account: string; year: number; month: number; ids: number[]; invoices: string[] }[]) {
          const others = (id: number) => d.ids.map((x, i) => `id ${x} (invoice ${d.invoices[i]})`).filter((_, i) => d.ids[i] !== id);
          for (const id of d.ids)
            twice.set(
              Number(id),
              `the old database holds ${d.ids.length} bills for ${d.account} ${d.year}-${String(d.month).padStart(2, '0')}; this one and ${others(Number(id)).join(', ')}: neither is imported. Delete the wrong one in the old database (or import it, then file the other as a correction) and run the import again`,
            );
        }
        // What is archived already: by invoice (with its hash) and by company and month.
        const { rows: have } = await knex.raw(
          `SELECT invoice_number, content_hash, company_account_number || '/' || billing_year || '/' || billing_month AS period_key, revision FROM billing_snapshots`,
        );
        const byInvoice = new Map<string, string>();
        const byPeriod = new Map<string, string>();
        for (const h of have as { invoice_number: string; content_hash: string; period_key: string; revision: number }[]) {
          if (h.revision !== 1) continue;
          byInvoice.set(h.invoice_number, h.content_hash);
          byPeriod.set(h.period_key, h.invoice_number);
        }
        const { rows: total } = await old(legacy.raw('SELECT count(*)::int AS n FROM billing_snapshots'));
        // The workers read the old rows in this transaction's snapshot, on connections of their own.
        const {
          rows: [{ snapshot }],
        } = (await old(legacy.raw('SELECT pg_export_snapshot() AS snapshot'))) as { rows: { snapshot: string }[] };
        const refuse = (row: LegacyRowKeys, reason: string) =>
          report.refused.push({
            legacy_id: Number(row.id),
            invoice_number: row.invoice_number,
            account: row.company_account_number,
            period: row.billing_year !== null && row.billing_month !== null ? `${row.billing_year}-${String(row.billing_month).padStart(2, '0')}` : null,
            reason,
          });
        /** A checked batch's outcome: each bill refused, skipped or ready to write. */
        const decide = (rows: Map<number, LegacyRowKeys>, batch: PreparedLegacyBatch): Ready[] => {
          const ready: Ready[] = [];
          for (const res of batch.results) {
            const row = rows.get(res.id)!;
            if (!res.ok) {
              refuse(row, res.reason);
              continue;
            }
            const b = res.bill;
            if (res.rebuiltLines) report.lines_rebuilt.push(b.invoice_number);
            const existing = byInvoice.get(b.invoice_number);
            if (existing === b.content_hash) {
              report.already_archived++;
              continue;
            }
            if (existing !== undefined) {
              refuse(row, `invoice ${b.invoice_number} is archived already with other content (${existing.slice(0, 12)}…): compare the two; file a correction if the old one is right`);
              continue;
            }
            const periodKey = `${b.company_account_number}/${b.billing_year}/${b.billing_month}`;
            if (byPeriod.has(periodKey)) {
              refuse(row, `${b.company_account_number} ${periodText(b.billing_year, b.billing_month)} is archived already as invoice ${byPeriod.get(periodKey)}`);
              continue;
            }
            byInvoice.set(b.invoice_number, b.content_hash);
            byPeriod.set(periodKey, b.invoice_number);
            if (opts.dryRun) {
              report.imported++;
              continue;
            }
            // An id is reserved for every invoice not archived when its batch was read (normalising an archived invoice number gives itself).
            if (!res.bytes) throw new Error(`internal: invoice ${b.invoice_number} was checked but not encoded`);
            ready.push({ legacyId: res.id, bill: b, bytes: res.bytes });
          }
          return ready;
        };
        const run = async (trx: Knex.Transaction | undefined) => {
          let after = -1;
          // Writes go one after another in the import's transaction, in the order read; the
          // reading and checking go on meanwhile, at most two written batches behind.
          let writing: Promise<void> = Promise.resolve();
          const queued: Promise<void>[] = [];
          // Batches read and being checked by the workers.
          const checking: { rows: Map<number, LegacyRowKeys>; result: Promise<PreparedLegacyBatch> }[] = [];
          // Set when the import fails: no write starts after that, since the transaction is about to end.
          let failed = false;
          const settle = async () => {
            const { rows, result } = checking.shift()!;
            const batch = await result.catch((err: Error) => {
              // The old database failed a worker's read (it went away, say): said as it was said there.
              throw err.message?.startsWith(LEGACY_READ_FAILED) ? new StartupError(err.message) : err;
            });
            const ready = decide(rows, batch);
            report.read += rows.size;
            if (trx && ready.length) {
              writing = writing.then(async () => void (report.imported += failed ? 0 : await insertBatch(trx, batch, ready)));
              writing.catch(() => undefined);
              queued.push(writing);
              if (queued.length > 2) await queued.shift();
            }
            opts.onProgress?.(report.read, total[0].n);
          };
          try {
            for (;;) {
              const { rows } = (await old(
                legacy.raw('SELECT id, invoice_number, company_account_number, billing_year, billing_month FROM billing_snapshots WHERE id > ? ORDER BY id LIMIT ?', [after, size]),
              )) as { rows: LegacyRowKeys[] };
              if (rows.length === 0) break;
              after = Number(rows[rows.length - 1].id);
              const byId = new Map(rows.map((r) => [Number(r.id), r]));
              const toPrepare = rows.filter((row) => {
                if (!twice.has(Number(row.id))) return true;
                refuse(row, twice.get(Number(row.id))!);
                return false;
              });
              // Ids only for what may be written: an invoice archived already is skipped or refused.
              const toWrite = trx ? toPrepare.filter((row) => !byInvoice.has(String(row.invoice_number))) : [];
              const reserved = await reserveSnapshotIds(knex, toWrite.length);
              const newIds = new Map(toWrite.map((row, i) => [row, reserved[i]]));
              const result = prepare({
                from: opts.from,
                snapshot,
                rows: toPrepare.map((row) => ({ id: Number(row.id), newId: newIds.get(row) ?? null })),
                tolerance: opts.tolerance,
                timeZone: opts.timeZone,
              });
              result.catch(() => undefined);
              checking.push({ rows: byId, result });
              if (checking.length > threads) await settle();
            }
            while (checking.length > 0) await settle();
            await writing;
          } catch (err) {
            // The writes under way finish (or fail) before the transaction is rolled back: none may
            // run after it, on its connection returned to the pool, outside any transaction.
            failed = true;
            await writing.catch(() => undefined);
            throw err;
          }
        };
        if (opts.dryRun) await run(undefined);
        else
          await knex
            .transaction((trx) => run(trx))
            .catch((err: { code?: string; constraint?: string; detail?: string }) => {
              // Checked against what was archived when the import began: a bill archived meanwhile (a post, a run) takes its key first.
              if (err.code === '23505')
                throw new StartupError(
                  `a bill was archived while the import ran (${err.detail ?? err.constraint ?? 'a unique key'}): nothing was imported; run the import again, and what is archived by then is skipped`,
                );
              throw err;
            });
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  } finally {
    await Promise.all([legacyDb.close(), pool?.destroy()]);
  }
  report.seconds = Math.round(performance.now() - started) / 1000;
  report.bills_per_second = report.seconds > 0 ? Math.round(report.read / report.seconds) : report.read;
  return report;
}
