/**
 * Corrections: an admin archives the right bill for an invoice already archived. Nothing is
 * changed or deleted: the corrected bill is a new snapshot, the next revision of the same
 * invoice (same account and period), linked to the revision it supersedes, with the reason and
 * who filed it (the database checks the link; see the corrections migration). The bill comes
 * posted by the admin or fetched again from Ledger, and passes every rule a post passes. A
 * preview shows the difference line by line first; a correction that changes nothing billed
 * is refused.
 */
import type { Knex } from 'knex';
import type { CorrectionCreated, CorrectionPost, CorrectionPreview, CorrectionPreviewPost, SnapshotDetail } from '../../shared/api';
import { billDifferences, changesTheBill } from '../../shared/bill-diff';
import { periodText } from '../../shared/period';
import { auditCte, type AuditContext } from '../audit/trail';
import { ArchiveError, validationError } from '../errors';
import { insertPrepared, prepareSnapshot, type PreparedSnapshot, type SnapshotSource } from './archive';
import { getSnapshotDetail } from './read';
import { checkSnapshotPost } from './validate';

export interface CorrectionDeps {
  knex: Knex;
  tolerance: string;
  /** Ledger's bill for the company and month now, built as a run builds it. */
  refetch(account: string, year: number, month: number, by: { createdBy: string; notes: string }): Promise<{ prepared: PreparedSnapshot; text: string }>;
}

/** The corrected bill, where it came from and its evidence (the body posted, or Ledger's answer). */
interface Proposed {
  prepared: PreparedSnapshot;
  source: Extract<SnapshotSource, 'correction' | 'correction_ledger'>;
  rawBody: string | null;
}

/** What the correction would supersede and archive, and the difference, without archiving. */
export async function previewCorrection(
  deps: CorrectionDeps,
  invoice: string,
  input: CorrectionPreviewPost,
  who: AuditContext,
  rawBody: string | null = null,
): Promise<{ preview: CorrectionPreview; current: SnapshotDetail; proposed: Proposed }> {
  const current = await getSnapshotDetail(deps.knex, invoice);
  if (input.supersedes_revision !== undefined && input.supersedes_revision !== current.revision) {
    throw new ArchiveError(
      'invalid_state',
      `Invoice ${invoice} is at revision ${current.revision} now, not ${input.supersedes_revision}: it was corrected meanwhile; look at the latest revision first`,
      { invoice_number: invoice, revision: current.revision },
    );
  }
  const proposed = input.from_ledger ? await fromLedger(deps, current, who) : fromPost(deps, input.bill, rawBody);
  const p = proposed.prepared;
  const mismatched = (['invoice_number', 'company_account_number', 'billing_year', 'billing_month'] as const).filter((f) => p.row[f] !== current[f]);
  if (mismatched.length) {
    throw validationError(
      mismatched.map((f) => ({ field: `bill.${f}`, reason: `must be ${String(current[f])}, as on the bill it corrects (a correction is the same invoice, company and month)` })),
      'correction',
    );
  }
  const differences = billDifferences({ row: current, lines: current.line_items, billing_data: current.billing_data }, { row: p.row, lines: p.lineItems, billing_data: JSON.parse(p.billingDataJson) });
  const preview: CorrectionPreview = {
    invoice_number: invoice,
    current: { revision: current.revision, content_hash: current.content_hash, total_amount: current.total_amount, line_item_count: current.line_item_count },
    proposed: { revision: current.revision + 1, content_hash: p.contentHash, total_amount: p.row.total_amount, line_item_count: p.lineItems.length, warnings: p.warnings, source: proposed.source },
    differences,
  };
  return { preview, current, proposed };
}

/** Archives the correction with its audit entry, in one statement: the next revision, or a refusal that changes nothing. */
export async function archiveCorrection(deps: CorrectionDeps, invoice: string, input: CorrectionPost, who: AuditContext, rawBody: string | null): Promise<CorrectionCreated> {
  const { preview, current, proposed } = await previewCorrection(deps, invoice, input, who, rawBody);
  if (!changesTheBill(preview.differences)) {
    throw new ArchiveError('invalid_state', `The corrected bill is the same as revision ${current.revision} of invoice ${invoice}: there is nothing to correct`, {
      invoice_number: invoice,
      revision: current.revision,
    });
  }
  if (input.expected_content_hash && input.expected_content_hash !== proposed.prepared.contentHash) {
    throw new ArchiveError('invalid_state', `The bill is not the one the preview showed (Ledger's bill changed since); look at the difference again before correcting`, {
      invoice_number: invoice,
      expected_content_hash: input.expected_content_hash,
      content_hash: proposed.prepared.contentHash,
    });
  }
  const revision = current.revision + 1;
  const d = preview.differences;
  const audit = auditCte({
    ...who,
    action: 'bill.corrected',
    subject: invoice,
    period: periodText(current.billing_year, current.billing_month),
    details: {
      revision,
      supersedes_revision: current.revision,
      reason: input.reason,
      source: proposed.source,
      content_hash: proposed.prepared.contentHash,
      total_before: current.total_amount,
      total_after: proposed.prepared.row.total_amount,
      fields_changed: d.fields.map((f) => f.field),
      lines_changed: d.lines.length,
    },
  });
  const created = await insertPrepared(deps.knex, proposed.prepared, {
    source: proposed.source,
    rawBody: proposed.rawBody,
    correction: { revision, supersedesId: current.id, reason: input.reason, correctedBy: who.actor },
    alongside: [audit],
  });
  return { ...created, message: `Correction archived as revision ${revision} of invoice ${invoice}; ${created.message}`, revision, supersedes_revision: current.revision };
}

function fromPost(deps: CorrectionDeps, bill: unknown, rawBody: string | null): Proposed {
  const checked = checkSnapshotPost(bill);
  if (!checked.ok)
    throw validationError(
      checked.fields.map((f) => ({ ...f, field: `bill.${f.field}` })),
      'corrected bill',
    );
  return { prepared: prepareSnapshot(checked.post, deps.tolerance), source: 'correction', rawBody };
}

async function fromLedger(deps: CorrectionDeps, current: SnapshotDetail, who: AuditContext): Promise<Proposed> {
  const { prepared, text } = await deps.refetch(current.company_account_number, current.billing_year, current.billing_month, {
    createdBy: 'archive-correction',
    notes: `Correction filed by ${who.actor}`,
  });
  return { prepared, source: 'correction_ledger', rawBody: text };
}
