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
import { describeLine, lineKey } from '../snapshots/lines-digest';
import { archivedBillsOf, archivedLines, type ArchivedBill } from '../snapshots/read';
import type { ItemValues } from './recorder';

export type { ArchivedBill };

/** The period's archived bills of these accounts, by account. */
export function archivedBills(knex: Knex, job: Pick<JobRow, 'target_year' | 'target_month'>, accounts: string[]): Promise<Map<string, ArchivedBill>> {
  return archivedBillsOf(knex, job.target_year, job.target_month, accounts);
}

export async function compareWithArchived(knex: Knex, prepared: PreparedSnapshot, digest: string, archived: ArchivedBill): Promise<Partial<ItemValues> & Pick<ItemValues, 'outcome'>> {
  const base = { snapshot_id: Number(archived.id), invoice_number: archived.invoice_number, total_amount: archived.total_amount };
  if (archived.total_amount === prepared.row.total_amount && archived.lines_digest === digest) {
    return { outcome: 'already_archived', ...base, line_item_count: prepared.lineItems.length, details: { content_hash: archived.content_hash } };
  }
  const lines = await archivedLines(knex, Number(archived.id));
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
