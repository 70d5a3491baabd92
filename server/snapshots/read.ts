/**
 * Reading archived bills back: one bill (its latest revision, or the one asked for) with its
 * line items and history, list rows, raw evidence.
 */
import type { Knex } from 'knex';
import { LINES_DIGEST_SQL } from './lines-digest';
import { CANONICAL_SNAPSHOT_FIELDS } from '../../shared/canonical';
import type { BillRevision, Correction, SnapshotDetail, SnapshotWarning } from '../../shared/api';
import { ArchiveError } from '../errors';
import { IS_CURRENT, Snapshot } from '../models/Snapshot';

/** A bill's columns as the API serves it: the hashed fields (said once, in shared/canonical.ts) and the server's own. */
const DETAIL_COLUMNS = ['id', 'revision', ...CANONICAL_SNAPSHOT_FIELDS, 'billing_data_json', 'line_item_count', 'content_hash', 'warnings', 'source', 'archived_at'];

/** One revision of an invoice: the one asked for, or the latest. */
function ofRevision<Q extends Knex.QueryBuilder>(q: Q, alias: string, invoiceNumber: string, revision: number | undefined): Q {
  q.where(`${alias}.invoice_number`, invoiceNumber);
  if (revision !== undefined) q.where(`${alias}.revision`, revision);
  else q.orderBy(`${alias}.revision`, 'desc');
  return q;
}

/** Who archived a revision, in words: the correction's token, or what sent revision 1. */
const archivedBy = (r: { source: string; created_by: string | null; corrected_by: string | null }) =>
  r.corrected_by ?? (r.source === 'ledger_post' ? `Ledger${r.created_by ? ` (${r.created_by})` : ''}` : (r.created_by ?? r.source));

type RevisionRow = Omit<BillRevision, 'archived_by'> & { created_by: string | null; corrected_by: string | null };

/**
 * A bill with its line items and its history in one round trip (the lines as one JSON array,
 * money as text): the latest revision, or `revision`. Its correction record and its successor
 * are read off the history: the database links revision N to revision N - 1 of the same invoice.
 */
export async function getSnapshotDetail(knex: Knex, invoiceNumber: string, revision?: number): Promise<SnapshotDetail> {
  const s = await ofRevision(
    knex('billing_snapshots as s')
      .select([...DETAIL_COLUMNS, 'correction_reason', 'corrected_by'].map((c) => `s.${c}`))
      .select(
        knex.raw(`(SELECT coalesce(json_agg(json_build_object(
          'line_type', li.line_type, 'item_name', li.item_name, 'description', li.description,
          'quantity', li.quantity::text, 'rate', li.rate::text, 'amount', li.amount::text) ORDER BY li.position), '[]'::json)
        FROM snapshot_line_items li WHERE li.snapshot_id = s.id) AS line_items`),
        knex.raw(`(SELECT json_agg(json_build_object('revision', r.revision, 'archived_at', r.archived_at, 'source', r.source, 'created_by', r.created_by,
            'corrected_by', r.corrected_by, 'content_hash', r.content_hash, 'total_amount', r.total_amount::text, 'reason', r.correction_reason) ORDER BY r.revision)
          FROM billing_snapshots r WHERE r.invoice_number = s.invoice_number) AS revisions`),
      ),
    's',
    invoiceNumber,
    revision,
  ).first();
  if (!s) throw notFound(invoiceNumber, revision);
  const { billing_data_json, line_items, warnings, revisions, correction_reason, corrected_by, ...fields } = s;
  const parse = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
  const history = parse(revisions) as RevisionRow[];
  const before = history.find((r) => r.revision === s.revision - 1);
  const correction: Correction | null = before ? { supersedes_revision: before.revision, supersedes_content_hash: before.content_hash, reason: correction_reason, corrected_by } : null;
  return {
    ...fields,
    id: Number(s.id),
    archived_at: new Date(s.archived_at).toISOString(),
    warnings: warnings as SnapshotWarning[],
    billing_data: billing_data_json,
    line_items: parse(line_items),
    correction,
    superseded_by_revision: history.some((r) => r.revision === s.revision + 1) ? s.revision + 1 : null,
    revisions: history.map(({ created_by, corrected_by, ...r }) => ({
      ...r,
      archived_at: new Date(r.archived_at).toISOString(),
      archived_by: archivedBy({ source: r.source, created_by, corrected_by }),
    })),
  } as SnapshotDetail;
}

export async function getSnapshotColumns<K extends keyof Snapshot>(knex: Knex, invoiceNumber: string, columns: K[], revision?: number): Promise<Pick<Snapshot, K>> {
  const s = await ofRevision(Snapshot.query(knex).select(columns as string[]) as unknown as Knex.QueryBuilder, 'billing_snapshots', invoiceNumber, revision).first();
  if (!s) throw notFound(invoiceNumber, revision);
  return s as unknown as Pick<Snapshot, K>;
}

/** SQL: whether another account's bills carry this company name too (case folded, on the lower(company_name) index). */
const NAME_SHARED = (name: string, account: string) => `EXISTS (SELECT 1 FROM billing_snapshots o WHERE lower(o.company_name) = lower(${name}) AND o.company_account_number <> ${account})`;

/** Whether another account's bills carry this company name too: then file names add the account. */
export async function nameIsShared(knex: Knex, companyName: string | null, accountNumber: string): Promise<boolean> {
  if (!companyName) return false;
  const { rows } = (await knex.raw(`SELECT ${NAME_SHARED('?', '?')} AS shared`, [companyName, accountNumber])) as { rows: { shared: boolean }[] };
  return rows[0].shared;
}

/** What a bill's CSV download needs: the CSV, what its file is named by, and its correction record. */
export interface BillCsv {
  invoice_csv: string;
  invoice_number: string;
  company_name: string | null;
  company_account_number: string;
  billing_year: number;
  billing_month: number;
  invoice_date: string;
  due_date: string | null;
  revision: number;
  correction_reason: string | null;
  name_shared: boolean;
}

/** A bill's CSV and what its file is named by, in one query (the hot path of downloads). */
export async function getBillCsv(knex: Knex, invoiceNumber: string, revision?: number): Promise<BillCsv> {
  const s = await ofRevision(knex('billing_snapshots as s'), 's', invoiceNumber, revision).first(
    's.invoice_csv',
    's.invoice_number',
    's.company_name',
    's.company_account_number',
    's.billing_year',
    's.billing_month',
    's.invoice_date',
    's.due_date',
    's.revision',
    's.correction_reason',
    knex.raw(`${NAME_SHARED('s.company_name', 's.company_account_number')} AS name_shared`),
  );
  if (!s) throw notFound(invoiceNumber, revision);
  return s;
}

function notFound(invoiceNumber: string, revision?: number): ArchiveError {
  if (revision !== undefined) return new ArchiveError('not_found', `Invoice ${invoiceNumber} has no revision ${revision}`, { invoice_number: invoiceNumber, revision });
  return new ArchiveError('not_found', `No archived bill with invoice number ${invoiceNumber}`, { invoice_number: invoiceNumber });
}

/** What a run compares a fresh bill with: an archived bill's total, hash and a digest of its lines. */
export interface ArchivedBill {
  id: number;
  invoice_number: string;
  total_amount: string;
  content_hash: string;
  lines_digest: string;
}

/** The period's archived bills of these accounts (each invoice's latest revision), by account (the lines digest computed in SQL). */
export async function archivedBillsOf(knex: Knex, year: number, month: number, accounts: string[]): Promise<Map<string, ArchivedBill>> {
  const out = new Map<string, ArchivedBill>();
  for (let i = 0; i < accounts.length; i += 5000) {
    const rows = (await knex('billing_snapshots as s')
      .where({ billing_year: year, billing_month: month })
      .whereIn('company_account_number', accounts.slice(i, i + 5000))
      .whereRaw(IS_CURRENT('s'))
      .select(
        's.id',
        's.company_account_number',
        's.invoice_number',
        's.total_amount',
        's.content_hash',
        knex.raw(`(SELECT ${LINES_DIGEST_SQL} FROM snapshot_line_items l WHERE l.snapshot_id = s.id) AS lines_digest`),
      )) as (ArchivedBill & { company_account_number: string })[];
    for (const r of rows) out.set(r.company_account_number, r);
  }
  return out;
}

/** An archived bill's lines in their order, as the comparison reads them. */
export async function archivedLines(knex: Knex, snapshotId: number): Promise<Record<string, string>[]> {
  return (await knex('snapshot_line_items').where({ snapshot_id: snapshotId }).orderBy('position').select('line_type', 'item_name', 'quantity', 'rate', 'amount')) as Record<string, string>[];
}
