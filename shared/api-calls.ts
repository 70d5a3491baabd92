/**
 * The calls of the REST API that clients make, declared once: each one's arguments (a zod
 * tuple, which the desktop's main process validates every IPC call with), its result type,
 * and the HTTP request it is. The API client (`client.call(name, ...args)`), the desktop's
 * channels (shared/bridge.ts spreads this table into its own) and both bridges are built from
 * it, so a new read feature is one line here, not a method in each of them. Browser-safe.
 */
import { z } from 'zod';
import {
  CorrectionPost,
  CorrectionPreviewPost,
  type About,
  type AccountCheck,
  type AuditPage,
  type CompanyHistory,
  type ConsistencyProof,
  type CorrectionCreated,
  type CorrectionPreview,
  type EvidenceBundle,
  type IntegrityStatus,
  type SearchResult,
  type SnapshotDetail,
  type Stats,
} from './api';
import { ACCOUNT_NUMBER } from './period';
import { RunRequest, SchedulerConfigUpdate, type Job, type JobItem, type SchedulerConfig } from './runs';

export const SEARCH_KEYS = [
  'account_number',
  'company',
  'invoice_number',
  'year',
  'month',
  'from_period',
  'to_period',
  'min_total',
  'max_total',
  'archived_from',
  'archived_to',
  'include_superseded',
  'tz',
  'sort',
  'order',
  'limit',
  'offset',
] as const;
export type SearchParams = Partial<Record<(typeof SEARCH_KEYS)[number], string>>;
export const SearchParamsSchema = z.strictObject(Object.fromEntries(SEARCH_KEYS.map((k) => [k, z.string().max(200).optional()])) as Record<(typeof SEARCH_KEYS)[number], z.ZodOptional<z.ZodString>>);

export const invoiceArg = z.string().min(1).max(50);
/** A bill's revision (the latest when absent). */
export const revisionArg = z.number().int().min(1).optional();
/** `?revision=N` for a revision asked for; nothing for the latest. */
export const revisionQuery = (revision?: number) => (revision ? `?revision=${revision}` : '');
export const jobIdArg = z.string().uuid({ message: 'must be a job id' });
const account = z.string().regex(ACCOUNT_NUMBER, { message: 'must be digits' });
const JobsFilter = z.strictObject({
  status: z.string().optional(),
  type: z.string().optional(),
  year: z.string().optional(),
  month: z.string().optional(),
  page: z.number().int().min(1).optional(),
  per_page: z.number().int().min(1).max(200).optional(),
});
const AuditFilter = z.strictObject({
  actor: z.string().max(100).optional(),
  action: z.string().max(50).optional(),
  invoice_number: z.string().max(50).optional(),
  period: z.string().max(7).optional(),
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  limit: z.number().int().min(1).max(1000).optional(),
  offset: z.number().int().min(0).optional(),
});
const ItemsFilter = z.strictObject({ outcome: z.string().optional(), page: z.number().int().min(1).optional(), per_page: z.number().int().min(1).max(1000).optional() });

export interface JobsPage {
  jobs: Job[];
  total: number;
  page: number;
  per_page: number;
}

export type JobWithItems = Job & {
  items: { items: JobItem[]; total: number; page: number; per_page: number };
  /** The bills Ledger gave for the period in this job (all of them, not only this page): their count and sum, to reconcile. */
  billed: { bills: number; total: string };
};

/** A run just started or taken up again. */
export interface RunStarted {
  job_id: string;
  status: string;
  dry_run?: boolean;
  /** The path of its event stream. */
  events?: string;
}

/** The HTTP request a call is. */
export interface ApiRequest {
  path: string;
  method?: 'GET' | 'POST';
  json?: unknown;
}

/** A filter object as a query string, leaving out what is unset. */
export function queryString(filter: object | undefined): string {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(filter ?? {})) if (v !== undefined && v !== null && v !== '') out.set(k, String(v));
  return out.toString();
}

/** A result type carried by the table for the type checker only (no value at run time). */
export const returns = <T>() => undefined as unknown as T;

/** One call: its argument tuple, its result type `R`, and its request from the arguments. */
const call =
  <R>() =>
  <A extends z.ZodTuple>(args: A, request: (...a: z.input<A>) => ApiRequest) => ({ args, result: returns<R>(), request });

const enc = encodeURIComponent;

export const API_CALLS = {
  'archive:about': call<About>()(z.tuple([]), () => ({ path: '/api/about' })),
  'snapshots:search': call<SearchResult>()(z.tuple([SearchParamsSchema]), (params) => ({ path: `/api/snapshots/search?${queryString(params)}` })),
  'snapshots:get': call<SnapshotDetail>()(z.tuple([invoiceArg, revisionArg]), (invoice, revision) => ({ path: `/api/snapshot/${enc(invoice)}${revisionQuery(revision)}` })),
  'snapshots:company': call<CompanyHistory>()(z.tuple([account, z.strictObject({ limit: z.number().int().min(1).max(1000), offset: z.number().int().min(0) })]), (acct, page) => ({
    path: `/api/snapshots/company/${enc(acct)}?${queryString(page)}`,
  })),
  'snapshots:stats': call<Stats>()(z.tuple([]), () => ({ path: '/api/stats' })),
  'snapshots:bundle': call<EvidenceBundle>()(z.tuple([invoiceArg, revisionArg]), (invoice, revision) => ({ path: `/api/snapshot/${enc(invoice)}/bundle${revisionQuery(revision)}` })),
  'corrections:preview': call<CorrectionPreview>()(z.tuple([invoiceArg, CorrectionPreviewPost]), (invoice, body) => ({
    path: `/api/snapshot/${enc(invoice)}/corrections/preview`,
    method: 'POST',
    json: body,
  })),
  'corrections:create': call<CorrectionCreated>()(z.tuple([invoiceArg, CorrectionPost]), (invoice, body) => ({ path: `/api/snapshot/${enc(invoice)}/corrections`, method: 'POST', json: body })),
  'audit:list': call<AuditPage>()(z.tuple([AuditFilter]), (filter) => ({ path: `/api/audit?${queryString(filter)}` })),
  'log:status': call<IntegrityStatus>()(z.tuple([]), () => ({ path: '/api/integrity' })),
  'log:consistency': call<ConsistencyProof>()(z.tuple([z.number().int().min(0), z.number().int().min(0)]), (from, to) => ({ path: `/api/integrity/consistency?from=${from}&to=${to}` })),
  'jobs:list': call<JobsPage>()(z.tuple([JobsFilter]), (filter) => ({ path: `/api/scheduler/jobs?${queryString(filter)}` })),
  'jobs:get': call<JobWithItems>()(z.tuple([jobIdArg, ItemsFilter]), (id, filter) => ({ path: `/api/scheduler/jobs/${enc(id)}?${queryString(filter)}` })),
  'companies:check': call<AccountCheck>()(z.tuple([z.array(account).min(1).max(10_000)]), (accounts) => ({ path: '/api/companies/check', method: 'POST', json: { accounts } })),
  'runs:start': call<RunStarted>()(z.tuple([RunRequest]), (req) => ({ path: '/api/runs', method: 'POST', json: req })),
  'runs:cancel': call<Job>()(z.tuple([jobIdArg]), (id) => ({ path: `/api/runs/${enc(id)}/cancel`, method: 'POST' })),
  'runs:resume': call<RunStarted>()(z.tuple([jobIdArg]), (id) => ({ path: `/api/runs/${enc(id)}/resume`, method: 'POST' })),
  'schedule:get': call<SchedulerConfig>()(z.tuple([]), () => ({ path: '/api/scheduler/config' })),
  'schedule:update': call<SchedulerConfig>()(z.tuple([SchedulerConfigUpdate]), (patch) => ({ path: '/api/scheduler/config', method: 'POST', json: patch })),
} as const;

export type ApiCall = keyof typeof API_CALLS;
export type ApiCallArgs<C extends ApiCall> = z.input<(typeof API_CALLS)[C]['args']>;
export type ApiCallResult<C extends ApiCall> = (typeof API_CALLS)[C]['result'];
export const isApiCall = (name: string): name is ApiCall => Object.hasOwn(API_CALLS, name);
