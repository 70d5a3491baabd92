/**
 * A run meeting a bill that is already archived: the archived bills of a period (total, hash
 * and a digest of their lines, computed in SQL), and the comparison that says whether
 * Ledger's bill is still the same (`already_archived`) or `changed_since_archived`, with the
 * differences. The archived bill is never touched. Also what a dry run records as its plan.
 */
import type { Knex } from 'knex';
import { subtractMoney } from '../../shared/money';
import type { PreparedSnapshot } from '../snapshots/archive';
import type { JobRow } from './jobs';
import { describeLine, lineKey, LINES_DIGEST_SQL } from './prepare';
import type { ItemValues } from './recorder';

export interface ArchivedBill {
  id: number;
  invoice_number: string;
  total_amount: string;
  content_hash: string;
  lines_digest: string;
}

/** The period's archived bills of these accounts, by account. */
export async function archivedBills(knex: Knex, job: Pick<JobRow, 'target_year' | 'target_month'>, accounts: string[]): Promise<Map<string, ArchivedBill>> {
  const out = new Map<string, ArchivedBill>();
  for (let i = 0; i < accounts.length; i += 5000) {
    const rows = (await knex('billing_snapshots as s')
      .where({ billing_year: job.target_year, billing_month: job.target_month })
      .whereIn('company_account_number', accounts.slice(i, i + 5000))
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

/** Already archived: is Ledger's bill still the same? Total and lines are compared. */
export async function compareWithArchived(knex: Knex, prepared: PreparedSnapshot, digest: string, archived: ArchivedBill): Promise<Partial<ItemValues> & Pick<ItemValues, 'outcome'>> {
  const base = { snapshot_id: Number(archived.id), invoice_number: archived.invoice_number, total_amount: archived.total_amount };
  if (archived.total_amount === prepared.row.total_amount && archived.lines_digest === digest) {
    return { outcome: 'already_archived', ...base, line_item_count: prepared.lineItems.length, details: { content_hash: archived.content_hash } };
  }
  const lines = (await knex('snapshot_line_items').where({ snapshot_id: archived.id }).orderBy('position').select('line_type', 'item_name', 'quantity', 'rate', 'amount')) as Record<string, string>[];
  const before = lines.map(lineKey);
  const after = prepared.lineItems.map((l) => lineKey(l as unknown as Record<string, string>));
  return {
    outcome: 'changed_since_archived',
    ...base,
    line_item_count: lines.length,
    details: {
      archived_total: archived.total_amount,
      ledger_total: prepared.row.total_amount,
      difference: subtractMoney(prepared.row.total_amount, archived.total_amount),
      archived_line_count: lines.length,
      ledger_line_count: prepared.lineItems.length,
      lines_added: after
        .filter((k) => !before.includes(k))
        .slice(0, 20)
        .map(describeLine),
      lines_removed: before
        .filter((k) => !after.includes(k))
        .slice(0, 20)
        .map(describeLine),
      archived_content_hash: archived.content_hash,
      ledger_content_hash: prepared.contentHash,
      note: 'The archived bill is kept unchanged; Ledger now bills this month differently.',
    },
  };
}

/** What a dry run (and a real run) records of a bill it would archive. */
export function planDetails(p: PreparedSnapshot): Record<string, unknown> {
  return {
    invoice_number: p.row.invoice_number,
    total_amount: p.row.total_amount,
    line_item_count: p.lineItems.length,
    user_count: p.row.user_count,
    asset_count: p.row.asset_count,
    content_hash: p.contentHash,
    warnings: p.warnings,
  };
}
