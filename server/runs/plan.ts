/**
 * A run's plan: which companies it takes up. On the first start, Codex's list (or each named
 * account, looked up one by one) becomes one item per company, and what cannot be run fails
 * alone with its reason (an unknown account is `not_found`; an odd entry, an account that is
 * not 1-50 digits or a name that is not text, or an odd answer about one company is `failed`).
 * A resumed run takes up the items without an outcome.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { ACCOUNT_NUMBER } from '../../shared/period';
import { cleanText, textProblem } from '../../shared/storable';
import type { CodexClient, CodexCompany } from '../peers/clients';
import { PeerError } from '../peers/request';
import { failItem, insertItems, itemsOf } from './job-items';
import { recordEntriesWithoutAccount } from './job-store';
import type { JobRow } from './jobs';

export interface PlannedCompany {
  account_number: string;
  company_name: string | null;
  /** Codex's entry, for the bill's plan, term and support level; null when not known. */
  company: CodexCompany | null;
}

/** The companies still to do; on the first start, asks Codex and records one item per company. */
export async function planCompanies(knex: Knex, codex: CodexClient, job: JobRow, signal: AbortSignal): Promise<PlannedCompany[]> {
  const existing = await itemsOf(knex, job.id);
  if (existing.length === 0) {
    const accounts = job.target_account_numbers as string[] | null;
    // A company decided at planning carries its outcome and the reason (`skip`); the others are to do.
    type Planned = { account_number: string; company_name: string | null } & (
      { company: CodexCompany; skip?: undefined; outcome?: undefined } | { company: null; skip: string; outcome: 'not_found' | 'failed' }
    );
    let planned: Planned[];
    if (!accounts) {
      let list: CodexCompany[];
      try {
        list = await codex.companies(signal);
      } catch (err) {
        throw new PeerError(`Cannot list the companies: ${(err as Error).message}`, (err as PeerError).kind ?? 'network', (err as PeerError).status, (err as PeerError).attempts ?? 1);
      }
      const seen = new Set<string>();
      let withoutAccount = 0;
      planned = [];
      for (const c of list) {
        const acct = codexAccount(c);
        if (!acct) {
          withoutAccount++;
          continue;
        }
        const key = itemKey(acct);
        if (seen.has(key)) continue;
        seen.add(key);
        // An odd entry (an account that is not 1-50 digits, a name that is not text) fails alone.
        const odd = oddCompany(c, acct);
        planned.push(odd ? { account_number: key, company_name: null, company: null, skip: odd, outcome: 'failed' } : { account_number: acct, company_name: c.name ?? null, company: c });
      }
      await recordEntriesWithoutAccount(knex, job.id, withoutAccount);
    } else {
      planned = await mapLimit(accounts, Number(job.concurrency), async (acct) => {
        try {
          const c = await codex.company(acct, signal);
          if (!c) return { account_number: acct, company_name: null, company: null, skip: `Codex does not know account ${acct} (check the number)`, outcome: 'not_found' as const };
          const odd = oddCompany(c, acct);
          return odd ? { account_number: acct, company_name: null, company: null, skip: odd, outcome: 'failed' as const } : { account_number: acct, company_name: c.name ?? null, company: c };
        } catch (err) {
          // An answer about this one company (a 4xx, not JSON, not a company, too large) fails it alone;
          // Codex unreachable, failing or refusing our token stops the run (every company would fail).
          const e = err as PeerError;
          const aboutThisCompany =
            e instanceof PeerError &&
            (e.kind === 'invalid_response' || e.kind === 'too_large' || (e.kind === 'http' && e.status !== undefined && e.status < 500 && e.status !== 401 && e.status !== 403));
          if (aboutThisCompany) return { account_number: acct, company_name: null, company: null, skip: cleanText(`Cannot look up company ${acct}: ${e.message}`), outcome: 'failed' as const };
          throw new PeerError(`Cannot look up company ${acct}: ${(err as Error).message}`, e.kind ?? 'network', e.status, e.attempts ?? 1);
        }
      });
    }
    await insertItems(
      knex,
      job.id,
      planned.map((p) => ({ account_number: p.account_number, company_name: p.company_name, outcome: p.outcome ?? null, error: p.skip ?? null })),
    );
    return planned.filter((p) => !p.skip);
  }
  // A resumed run: the companies already done are not fetched again.
  const todo = existing.filter((e) => e.outcome === null);
  const companies = job.target_account_numbers ? null : await codex.companies(signal).catch(() => null);
  const facts = new Map((companies ?? []).flatMap((c) => (codexAccount(c) ? [[itemKey(codexAccount(c)), c] as const] : [])));
  // A company whose Codex entry is still odd fails again at once, with its reason, instead of being fetched.
  const out: { account_number: string; company_name: string | null; company: CodexCompany | null }[] = [];
  for (const e of todo) {
    const fact = facts.get(e.account_number);
    const odd = ACCOUNT_NUMBER.test(e.account_number)
      ? fact
        ? oddCompany(fact, e.account_number)
        : undefined
      : `The account number ${JSON.stringify(e.account_number)} is not 1 to 50 digits; fix the entry in Codex`;
    if (odd) await failItem(knex, job.id, e.account_number, odd);
    else out.push({ account_number: e.account_number, company_name: e.company_name, company: fact ?? null });
  }
  return out;
}

/** The account number of a Codex entry, trimmed; '' for none (a prospect) or for an entry that is not an object. */
export function codexAccount(c: unknown): string {
  if (!c || typeof c !== 'object' || Array.isArray(c)) return '';
  const a = (c as CodexCompany).account_number;
  return typeof a === 'string' ? a.trim() : a === null || a === undefined ? '' : String(a);
}

/**
 * The key a company's item is stored under: its account number, or for one that is not a
 * plain number of up to 50 characters, a readable prefix and a digest of the whole (distinct
 * for distinct entries, and text the database takes).
 */
function itemKey(acct: string): string {
  if (ACCOUNT_NUMBER.test(acct)) return acct;
  const readable = cleanText(acct).replace(/[^\x20-\x7e]/g, '?');
  if (readable === acct && acct.length <= 50) return acct;
  return `${readable.slice(0, 36)}~${createHash('sha256').update(acct, 'utf8').digest('hex').slice(0, 12)}`;
}

/** Why Codex's entry for a company cannot be run, or undefined when it can. */
function oddCompany(c: CodexCompany, acct: string): string | undefined {
  if (!ACCOUNT_NUMBER.test(acct)) return `Codex lists the account number ${JSON.stringify(cleanText(acct.slice(0, 80)))}, which is not 1 to 50 digits; fix the entry in Codex`;
  if (c.name !== undefined && c.name !== null && typeof c.name !== 'string') return `Codex gives company ${acct} a name that is not text (${typeof c.name}); fix the entry in Codex`;
  if (typeof c.name === 'string' && textProblem(c.name)) return `Codex gives company ${acct} a name that ${textProblem(c.name)}; fix the entry in Codex`;
  if (typeof c.name === 'string' && c.name.length > 150) return `Codex gives company ${acct} a name longer than 150 characters; fix the entry in Codex`;
  return undefined;
}

async function mapLimit<T, R>(xs: T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, xs.length) }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await fn(xs[i]);
      }
    }),
  );
  return out;
}
