/**
 * One company's bill fetched again from Ledger and built exactly as a run builds it (Codex's
 * facts, the same reading, validation, money rule and hash): what a correction "from Ledger"
 * archives. Every failure says, in words, why and what to do instead.
 */
import { ArchiveError } from '../errors';
import type { CodexClient, LedgerClient } from '../peers/clients';
import type { PreparedSnapshot } from '../snapshots/archive';
import { periodText } from '../../shared/period';
import { prepareRunBill } from './prepare';

export interface RefetchedBill {
  prepared: PreparedSnapshot;
  /** Ledger's answer as received: the correction's evidence. */
  text: string;
}

export async function refetchBill(
  peers: { codex: CodexClient; ledger: LedgerClient },
  account: string,
  year: number,
  month: number,
  opts: { createdBy: string; notes: string; tolerance: string },
): Promise<RefetchedBill> {
  const period = periodText(year, month);
  const company = await peers.codex.company(account).catch((err: Error) => {
    throw new ArchiveError('dependency_unavailable', `Codex cannot be asked about company ${account}: ${err.message}`);
  });
  if (!company) throw new ArchiveError('invalid_state', `Codex no longer knows account ${account}, so its bill cannot be fetched again; post the corrected bill instead`, { account_number: account });
  const bill = await peers.ledger.billingText(account, year, month).catch((err: Error) => {
    throw new ArchiveError('dependency_unavailable', `Ledger cannot give the bill of ${account} for ${period} again: ${err.message}`);
  });
  if (bill.kind === 'no_bill') {
    throw new ArchiveError('invalid_state', `Ledger has no bill for company ${account} and ${period} now (${bill.reason}); post the corrected bill instead`, { account_number: account, period });
  }
  const outcome = prepareRunBill({ text: bill.text, account, year, month, what: bill.what, company, ...opts });
  if (outcome.kind === 'refused') throw new ArchiveError('validation_failed', `Ledger's bill cannot be archived: ${outcome.error}`, outcome.details ?? undefined);
  return { prepared: outcome.prepared, text: bill.text };
}
