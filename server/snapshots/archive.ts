/**
 * Archiving a bill: validate, normalise, check, hash, and insert the snapshot with all its
 * line items in one transaction. The unique keys decide duplicates, so concurrent posts of
 * the same bill need no application lock: exactly one insert wins, the others get 409.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { SnapshotCreated, SnapshotPost, SnapshotWarning } from '../../shared/api';
import { billingDataText, contentHashOfText } from './content-hash';
import { ArchiveError } from '../errors';
import { checkTotals, normaliseSnapshot, type NormalisedSnapshot } from './normalise';
import { periodText } from '../../shared/period';
import { CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import { copyEncoded, copyLine } from '../db/copy';
import { connectionsOf, onPostgres } from '../db/connections';

export type SnapshotSource = 'ledger_post' | 'run' | 'legacy_import' | 'correction' | 'correction_ledger';

/** A correction's record: the revision it is, the row it supersedes, why and who. */
export interface CorrectionRecord {
  revision: number;
  supersedesId: number;
  reason: string;
  correctedBy: string;
}

export interface ArchiveOptions {
  tolerance: string;
  source?: SnapshotSource;
  /** The request body exactly as received, kept as evidence. */
  rawBody?: string | null;
  /** When the bill was archived, for imports of older archives; default now(). */
  archivedAt?: Date;
  /**
   * More data-modifying statements to run atomically with the insert, as CTEs that may use
   * `(SELECT id FROM s)` for the new snapshot's id: a run records its outcome this way, and
   * every archiving its audit entry.
   */
  alongside?: { sql: string; bindings: Knex.RawBinding[] }[];
  /** Set for a correction: the bill is archived as this revision of its invoice. */
  correction?: CorrectionRecord;
}

/** A bill checked and hashed, short of how a write sends it. */
export interface CheckedSnapshot extends Omit<NormalisedSnapshot, 'billingData'> {
  contentHash: string;
  /** The billing data's canonical JSON text (RFC 8785): stored as it is, and hashed as stored. */
  billingDataJson: string;
}

/**
 * A bill ready to insert. The big parts travel as the JSON text the insert sends, so handing a
 * prepared bill from a worker thread to the event loop copies strings, not object graphs.
 */
export interface PreparedSnapshot extends CheckedSnapshot {
  /** The line items with their positions, as the insert unpacks them. */
  lineItemsJson: string;
}

/** Everything short of writing and of the insert's own form: what a bulk write (encodeBatchBill) takes. */
export function checkSnapshot(post: SnapshotPost, tolerance: string): CheckedSnapshot {
  const normalised = normaliseSnapshot(post);
  normalised.warnings = checkTotals(normalised, tolerance);
  const { billingData, ...rest } = normalised;
  // Stored as the text its content hash covers.
  const billingDataJson = billingDataText(billingData);
  return { ...rest, contentHash: contentHashOfText(normalised.row, billingDataJson, normalised.lineItems), billingDataJson };
}

/** Everything short of writing: used by real archiving and by dry runs alike. */
export function prepareSnapshot(post: SnapshotPost, tolerance: string): PreparedSnapshot {
  const checked = checkSnapshot(post, tolerance);
  return { ...checked, lineItemsJson: JSON.stringify(checked.lineItems.map((li, i) => ({ position: i + 1, ...li }))) };
}

export async function archiveSnapshot(knex: Knex, post: SnapshotPost, opts: ArchiveOptions): Promise<SnapshotCreated> {
  const prepared = prepareSnapshot(post, opts.tolerance);
  return insertPrepared(knex, prepared, opts);
}

export async function insertPrepared(knex: Knex, p: PreparedSnapshot, opts: Omit<ArchiveOptions, 'tolerance'>): Promise<SnapshotCreated> {
  try {
    const id = await insertSnapshotStatement(knex, p, opts);
    return {
      message: warningsMessage(p.warnings),
      snapshot_id: id,
      invoice_number: p.row.invoice_number,
      content_hash: p.contentHash,
      warnings: p.warnings,
    };
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      if (opts.correction) throw correctionRaced(p.row.invoice_number, opts.correction.revision);
      throw await duplicateError(knex, p, err as { constraint?: string });
    }
    throw err;
  }
}

/**
 * The snapshot and all its line items in one INSERT statement (a data-modifying CTE):
 * atomic on its own, and one round trip to the database instead of BEGIN, two INSERTs
 * and COMMIT. Line items travel as one JSON array and are unpacked by jsonb_to_recordset.
 */
async function insertSnapshotStatement(knex: Knex, p: PreparedSnapshot, opts: Omit<ArchiveOptions, 'tolerance'>): Promise<number> {
  const row: Record<string, unknown> = {
    ...p.row,
    billing_data_json: p.billingDataJson,
    raw_body: opts.rawBody ?? null,
    line_item_count: p.lineItems.length,
    content_hash: p.contentHash,
    warnings: JSON.stringify(p.warnings),
    source: opts.source ?? 'ledger_post',
  };
  if (opts.archivedAt) row.archived_at = opts.archivedAt;
  if (opts.correction) {
    Object.assign(row, {
      revision: opts.correction.revision,
      supersedes_id: opts.correction.supersedesId,
      correction_reason: opts.correction.reason,
      corrected_by: opts.correction.correctedBy,
    });
  }
  const insertSnapshot = knex('billing_snapshots').insert(row).returning('id').toSQL();
  const sql = `WITH s AS (${insertSnapshot.sql}),
    l AS (
      INSERT INTO snapshot_line_items (snapshot_id, position, line_type, item_name, description, quantity, rate, amount)
      SELECT s.id, x.position, x.line_type, x.item_name, x.description, x.quantity, x.rate, x.amount
        FROM s CROSS JOIN jsonb_to_recordset(?::jsonb)
          AS x(position int, line_type text, item_name text, description text, quantity numeric, rate numeric, amount numeric)
    )
    ${(opts.alongside ?? []).map((a, i) => `, a${i} AS (${a.sql})`).join('')}
    SELECT id FROM s`;
  const bindings = [...insertSnapshot.bindings, p.lineItemsJson, ...(opts.alongside ?? []).flatMap((a) => a.bindings)];
  const result = await preparedQuery(knex, sql, bindings);
  return Number(result.rows[0].id);
}

/** A bill for a bulk write: prepared, with its evidence, where it comes from and when it was archived. */
export interface BatchBill {
  prepared: CheckedSnapshot;
  rawBody: string | null;
  source: SnapshotSource;
  archivedAt: Date;
}

const BATCH_COLUMNS = ['id', ...CANONICAL_SNAPSHOT_FIELDS, 'billing_data_json', 'raw_body', 'line_item_count', 'content_hash', 'warnings', 'source', 'archived_at'] as const;
const LINE_COLUMNS = ['snapshot_id', 'position', 'line_type', 'item_name', 'description', 'quantity', 'rate', 'amount'] as const;

/**
 * Ids for `n` new bills of a bulk write, drawn from the table's sequence first so the line
 * items can name theirs. Any connection will do (a sequence is not transactional); an id left
 * unused, by a bill refused later or a rollback, is a gap as after any failed insert.
 */
export async function reserveSnapshotIds(knex: Knex, n: number): Promise<string[]> {
  if (n === 0) return [];
  const { rows } = await knex.raw(`SELECT nextval(pg_get_serial_sequence('billing_snapshots', 'id'))::text AS id FROM generate_series(1, ?)`, [n]);
  return (rows as { id: string }[]).map((r) => r.id);
}

/** A new bill (with its reserved id) and its line items as rows in COPY's text format, for writeEncodedBatch. */
export function encodeBatchBill(id: string, { prepared: p, rawBody, source, archivedAt }: BatchBill): { bill: string; lines: string } {
  const bill = copyLine([
    id,
    ...CANONICAL_SNAPSHOT_FIELDS.map((f) => p.row[f]),
    p.billingDataJson,
    rawBody,
    p.lineItems.length,
    p.contentHash,
    p.warnings as unknown as Record<string, unknown>[],
    source,
    archivedAt,
  ]);
  let lines = '';
  for (let k = 0; k < p.lineItems.length; k++) {
    const li = p.lineItems[k];
    lines += copyLine([id, k + 1, li.line_type, li.item_name, li.description, li.quantity, li.rate, li.amount]);
  }
  return { bill, lines };
}

/**
 * Many new bills and their line items at once (encodeBatchBill's rows), by COPY in the
 * caller's transaction (an import). The unique keys, the checks and the triggers apply as to
 * any insert: a duplicate fails the whole batch.
 */
export async function writeEncodedBatch(trx: Knex.Transaction, bills: readonly Uint8Array[], lines: readonly Uint8Array[]): Promise<void> {
  await copyEncoded(trx, 'billing_snapshots', BATCH_COLUMNS, bills);
  await copyEncoded(trx, 'snapshot_line_items', LINE_COLUMNS, lines);
}

/**
 * On PostgreSQL proper, a named prepared statement: PostgreSQL parses and plans this big
 * statement once per connection instead of once per bill. The name is a digest of the text,
 * so a different column set is a different statement. Elsewhere (the embedded database, a
 * transaction), a plain query.
 */
async function preparedQuery(knex: Knex, sql: string, bindings: readonly Knex.RawBinding[]): Promise<{ rows: Record<string, unknown>[] }> {
  if (!onPostgres(knex) || (knex as { isTransaction?: boolean }).isTransaction) return knex.raw(sql, bindings as Knex.RawBinding[]);
  const client = connectionsOf(knex);
  const native = knex
    .raw(sql, bindings as Knex.RawBinding[])
    .toSQL()
    .toNative();
  const name = `archive_${createHash('sha1').update(native.sql).digest('hex').slice(0, 20)}`;
  const conn = await client.acquireConnection();
  try {
    return await conn.query({ name, text: native.sql, values: native.bindings as unknown[] });
  } finally {
    await client.releaseConnection(conn);
  }
}

function warningsMessage(warnings: SnapshotWarning[]): string {
  if (warnings.length === 0) return 'Bill archived';
  return `Bill archived with ${warnings.length} warning${warnings.length > 1 ? 's' : ''}: ${warnings.map((w) => w.message).join('; ')}`;
}

/** Two corrections of one revision at once: the unique keys let one win; the other is told to look again. */
function correctionRaced(invoice: string, revision: number): ArchiveError {
  return new ArchiveError('invalid_state', `Another correction of invoice ${invoice} was archived as revision ${revision} a moment ago; look at it and correct it again if it is still wrong`, {
    invoice_number: invoice,
    revision,
  });
}

/** A 409 that says which bill is already there (its latest revision) and whether it is the same content. */
async function duplicateError(knex: Knex, p: PreparedSnapshot, err: { constraint?: string }): Promise<ArchiveError> {
  const byInvoice = err.constraint === 'billing_snapshots_invoice_number_key';
  const existing = await knex('billing_snapshots')
    .select('id', 'invoice_number', 'revision', 'company_account_number', 'billing_year', 'billing_month', 'content_hash', 'archived_at')
    .modify((q) => {
      if (byInvoice) q.where('invoice_number', p.row.invoice_number);
      else q.where({ company_account_number: p.row.company_account_number, billing_year: p.row.billing_year, billing_month: p.row.billing_month });
    })
    .orderBy('revision', 'desc')
    .first();
  const identical = existing?.content_hash === p.contentHash;
  const period = periodText(p.row.billing_year, p.row.billing_month);
  const what = byInvoice
    ? `Invoice ${p.row.invoice_number} has already been archived`
    : `The bill of company ${p.row.company_account_number} for ${period} has already been archived${existing ? ` as invoice ${existing.invoice_number}` : ''}`;
  const corrected = existing && existing.revision > 1 ? ` (corrected: revision ${existing.revision} is the bill now)` : '';
  return new ArchiveError('already_archived', `${what}${corrected}; ${identical ? 'the content is identical' : 'the posted content differs from the archived bill, which is kept unchanged'}`, {
    identical,
    conflict: byInvoice ? 'invoice_number' : 'company_period',
    existing: existing
      ? {
          snapshot_id: Number(existing.id),
          invoice_number: existing.invoice_number,
          revision: existing.revision,
          content_hash: existing.content_hash,
          archived_at: new Date(existing.archived_at).toISOString(),
        }
      : null,
    posted_content_hash: p.contentHash,
  });
}
