/**
 * The two peers a run talks to (docs/contract.md section 2): Codex for the companies, Ledger
 * for each company's bill. Note the plural `companies` in both Codex paths.
 */
import type { Config } from '../config';
import { readBillingAnswer, type BillingAnswer } from './ledger-bill';
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
  /** Largest answer read from Ledger or Codex (PEER_MAX_BYTES). */
  maxBytes: number;
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
    maxBytes: config.peerMaxBytes,
  };
}

type Call = Omit<PeerOptions, 'name' | 'baseUrl' | 'token'>;

function call(s: PeerSettings, signal?: AbortSignal): Call {
  return { timeoutMs: s.timeoutMs, retries: s.retries, backoffMs: s.backoffMs, maxBytes: s.maxBytes, signal };
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
    if (!res.body || typeof res.body !== 'object' || Array.isArray(res.body))
      throw new PeerError(`Codex GET api/companies/${account}: the answer is not a company (a JSON object)`, 'invalid_response', res.status, res.attempts);
    return res.body;
  }

  async health(signal?: AbortSignal): Promise<unknown> {
    return (await getJson(this.opts(signal), 'health')).body;
  }
}

export type BillResult = { kind: 'bill'; answer: BillingAnswer; text: string; attempts: number } | NoBill;
export type BillText = { kind: 'bill'; text: string; attempts: number; what: string } | NoBill;
type NoBill = { kind: 'no_bill'; reason: string; attempts: number };

export class LedgerClient {
  constructor(private readonly s: PeerSettings) {}

  private opts(signal?: AbortSignal): PeerOptions {
    return { name: 'Ledger', baseUrl: this.s.ledgerUrl, token: this.s.ledgerToken, ...call(this.s, signal) };
  }

  /** The company's bill for the month; Ledger's 404 (no billing plan) is "no bill", not a failure. */
  async billing(account: string, year: number, month: number, signal?: AbortSignal): Promise<BillResult> {
    const res = await this.billingText(account, year, month, signal);
    if (res.kind === 'no_bill') return res;
    const read = readBillingAnswer(res.text, account, year, month);
    if (typeof read === 'string') throw new PeerError(`${res.what}: ${read}`, 'invalid_response', 200, res.attempts);
    return { kind: 'bill', answer: read, text: res.text, attempts: res.attempts };
  }

  /**
   * The same, with the bill as Ledger's text, unread: a run reads and checks it in a worker
   * thread (readBillingAnswer), off the event loop. `what` names the request for messages.
   */
  async billingText(account: string, year: number, month: number, signal?: AbortSignal): Promise<BillText> {
    const path = `api/billing/${encodeURIComponent(account)}?year=${year}&month=${month}`;
    const res = await getJson<unknown>({ ...this.opts(signal), rawSuccess: true }, path);
    if (res.status === 404) return { kind: 'no_bill', reason: describe(res.body), attempts: res.attempts };
    if (res.status !== 200) throw new PeerError(`Ledger GET ${path}: Ledger answered ${res.status}: ${describe(res.body)}`, 'http', res.status, res.attempts);
    return { kind: 'bill', text: res.text, attempts: res.attempts, what: `Ledger GET ${path}` };
  }

  async health(signal?: AbortSignal): Promise<unknown> {
    return (await getJson(this.opts(signal), 'health')).body;
  }
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') return (body as { error: string }).error;
  return JSON.stringify(body)?.slice(0, 200) ?? String(body);
}
