/**
 * The two peers a run talks to (CONTRACT.md section 2): Codex for the companies, Ledger
 * for each company's bill. Note the plural `companies` in both Codex paths.
 */
import type { Config } from '../config';
import type { BillingAnswer } from '../ledger/build-snapshot';
import { getJson, PeerError, type PeerOptions } from './request';

export interface CodexCompany {
  account_number?: string | null;
  name?: string | null;
  billing_plan?: string | null;
  contract_term_length?: string | null;
  support_level?: string | null;
  [key: string]: unknown;
}

export interface PeerSettings {
  codexUrl: string;
  ledgerUrl: string;
  codexToken: string;
  ledgerToken: string;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
}

export function peerSettings(config: Config, serviceToken: string): PeerSettings {
  return {
    codexUrl: config.codexUrl,
    ledgerUrl: config.ledgerUrl,
    codexToken: config.codexToken ?? serviceToken,
    ledgerToken: config.ledgerToken ?? serviceToken,
    timeoutMs: config.peerTimeoutMs,
    retries: config.peerRetries,
    backoffMs: config.peerBackoffMs,
  };
}

type Call = Omit<PeerOptions, 'name' | 'baseUrl' | 'token'>;

function call(s: PeerSettings, signal?: AbortSignal): Call {
  return { timeoutMs: s.timeoutMs, retries: s.retries, backoffMs: s.backoffMs, signal };
}

export class CodexClient {
  constructor(private readonly s: PeerSettings) {}

  private opts(signal?: AbortSignal): PeerOptions {
    return { name: 'Codex', baseUrl: this.s.codexUrl, token: this.s.codexToken, ...call(this.s, signal) };
  }

  /** Every company; throws when Codex cannot give the list (a run cannot start without it). */
  async companies(signal?: AbortSignal): Promise<CodexCompany[]> {
    const res = await getJson<unknown>(this.opts(signal), 'api/companies');
    if (res.status !== 200) throw new PeerError(`Codex GET api/companies: Codex answered ${res.status}: ${describe(res.body)}`, 'http', res.status, res.attempts);
    if (!Array.isArray(res.body)) throw new PeerError('Codex GET api/companies: the answer is not a JSON array of companies', 'invalid_response', res.status, res.attempts);
    return res.body as CodexCompany[];
  }

  /** One company, or null when Codex does not know the account (404). */
  async company(account: string, signal?: AbortSignal): Promise<CodexCompany | null> {
    const res = await getJson<CodexCompany>(this.opts(signal), `api/companies/${encodeURIComponent(account)}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw new PeerError(`Codex GET api/companies/${account}: Codex answered ${res.status}: ${describe(res.body)}`, 'http', res.status, res.attempts);
    return res.body;
  }

  async health(signal?: AbortSignal): Promise<unknown> {
    return (await getJson(this.opts(signal), 'health')).body;
  }
}

export type BillResult = { kind: 'bill'; answer: BillingAnswer; text: string; attempts: number } | { kind: 'no_bill'; reason: string; attempts: number };

export class LedgerClient {
  constructor(private readonly s: PeerSettings) {}

  private opts(signal?: AbortSignal): PeerOptions {
    return { name: 'Ledger', baseUrl: this.s.ledgerUrl, token: this.s.ledgerToken, ...call(this.s, signal) };
  }

  /** The company's bill for the month; Ledger's 404 (no billing plan) is "no bill", not a failure. */
  async billing(account: string, year: number, month: number, signal?: AbortSignal): Promise<BillResult> {
    const path = `api/billing/${encodeURIComponent(account)}?year=${year}&month=${month}`;
    const res = await getJson<unknown>(this.opts(signal), path);
    if (res.status === 404) return { kind: 'no_bill', reason: describe(res.body), attempts: res.attempts };
    if (res.status !== 200) throw new PeerError(`Ledger GET ${path}: Ledger answered ${res.status}: ${describe(res.body)}`, 'http', res.status, res.attempts);
    const answer = res.body as BillingAnswer;
    const problem = billingAnswerProblem(answer, account, year, month);
    if (problem) throw new PeerError(`Ledger GET ${path}: ${problem}`, 'invalid_response', res.status, res.attempts);
    return { kind: 'bill', answer, text: res.text, attempts: res.attempts };
  }

  async health(signal?: AbortSignal): Promise<unknown> {
    return (await getJson(this.opts(signal), 'health')).body;
  }
}

/** The shape checks a bill must pass before we build a snapshot from it. */
function billingAnswerProblem(a: BillingAnswer, account: string, year: number, month: number): string | null {
  if (!a || typeof a !== 'object') return 'the answer is not a JSON object';
  if (a.account_number !== account) return `the answer is for account ${String(a.account_number)}, not ${account}`;
  const period = `${year}-${String(month).padStart(2, '0')}`;
  if (a.billing_period !== period) return `the answer is for ${String(a.billing_period)}, not ${period}`;
  const r = a.receipt;
  if (!r || typeof r !== 'object') return 'the answer has no receipt';
  for (const k of ['billed_users', 'billed_assets', 'billed_line_items'] as const) if (!Array.isArray(r[k])) return `receipt.${k} is missing`;
  for (const k of ['total', 'total_user_charges', 'total_asset_charges', 'total_line_item_charges', 'ticket_charge', 'backup_charge', 'billable_hours'] as const) {
    if (typeof r[k] !== 'number' || !Number.isFinite(r[k])) return `receipt.${k} is not a number`;
  }
  return null;
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') return (body as { error: string }).error;
  return JSON.stringify(body)?.slice(0, 200) ?? String(body);
}
