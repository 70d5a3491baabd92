/**
 * Which accounts Codex knows, for an account list before it is saved (the schedule's) or run:
 * one call to Codex's company list, so an account typed wrong is flagged by the person who
 * typed it, not found missing by the run a month later.
 */
import type { AccountCheck } from '../../shared/api';
import { ArchiveError } from '../errors';
import type { CodexClient } from '../peers/clients';
import { codexAccount } from './plan';

export async function checkAccounts(codex: CodexClient, accounts: string[], signal?: AbortSignal): Promise<AccountCheck> {
  let list: unknown[];
  try {
    list = await codex.companies(signal);
  } catch (err) {
    throw new ArchiveError('dependency_unavailable', `Codex cannot be asked which accounts it knows: ${(err as Error).message}`);
  }
  const names = new Map<string, string | null>();
  for (const c of list) {
    const account = codexAccount(c);
    if (account) names.set(account, typeof (c as { name?: unknown }).name === 'string' ? (c as { name: string }).name : null);
  }
  const unique = [...new Set(accounts)];
  return {
    known: unique.filter((a) => names.has(a)).map((a) => ({ account_number: a, name: names.get(a) ?? null })),
    unknown: unique.filter((a) => !names.has(a)),
  };
}
