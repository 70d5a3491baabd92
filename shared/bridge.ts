/**
 * The desktop app's one bridge between the renderer and the main process, declared once.
 * Every call is a channel named `domain:verb` with a zod schema for its arguments; the
 * preload builds `window.archive` from this list, the main process validates every call
 * with it, and the web implementation (tests in Chromium) implements the same interface.
 * The renderer never sees a token or the server's URL beyond what it typed in Connect.
 * Browser-safe.
 */
import { z } from 'zod';
import type { CompanyHistory, SearchResult, SnapshotDetail, Stats } from './api';
import type { Job, JobItem, RunEvent, SchedulerConfig } from './runs';
import { RunRequest as RunRequestSchema, SchedulerConfigUpdate as SchedulerConfigUpdateSchema } from './runs';
import type { RunRequest, SchedulerConfigUpdate } from './runs';

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
  'tz',
  'sort',
  'order',
  'limit',
  'offset',
] as const;
export type SearchParams = Partial<Record<(typeof SEARCH_KEYS)[number], string>>;
const SearchParamsSchema = z.strictObject(Object.fromEntries(SEARCH_KEYS.map((k) => [k, z.string().max(200).optional()])) as Record<(typeof SEARCH_KEYS)[number], z.ZodOptional<z.ZodString>>);

const ServerInput = z.strictObject({
  name: z.string().trim().min(1, { message: 'must not be empty' }).max(80),
  url: z
    .string()
    .url({ message: 'must be a URL such as http://archive.example:5012' })
    .refine((u) => /^https?:\/\//.test(u), { message: 'must start with http:// or https://' }),
  token: z.string().min(1, { message: 'must not be empty' }).max(500).optional(),
});
export type ServerInput = z.infer<typeof ServerInput>;

const id = z.string().min(1).max(100);
const invoice = z.string().min(1).max(50);
const account = z.string().regex(ACCOUNT_NUMBER, { message: 'must be digits' });
const jobId = z.string().uuid({ message: 'must be a job id' });
const JobsFilter = z.strictObject({
  status: z.string().optional(),
  type: z.string().optional(),
  year: z.string().optional(),
  month: z.string().optional(),
  page: z.number().int().min(1).optional(),
  per_page: z.number().int().min(1).max(200).optional(),
});
const ItemsFilter = z.strictObject({ outcome: z.string().optional(), page: z.number().int().min(1).optional(), per_page: z.number().int().min(1).max(1000).optional() });

/** Every channel, its arguments, in order. */
export const CHANNELS = {
  'servers:list': z.tuple([]),
  'servers:save': z.tuple([ServerInput]),
  'servers:remove': z.tuple([id]),
  'servers:test': z.tuple([z.strictObject({ url: ServerInput.shape.url, token: z.string().max(500).optional(), serverId: id.optional() })]),
  'servers:connect': z.tuple([id]),
  'servers:current': z.tuple([]),
  'servers:disconnect': z.tuple([]),
  'servers:status': z.tuple([]),
  'snapshots:search': z.tuple([SearchParamsSchema]),
  'snapshots:get': z.tuple([invoice]),
  'snapshots:company': z.tuple([account, z.strictObject({ limit: z.number().int().min(1).max(1000), offset: z.number().int().min(0) })]),
  'snapshots:stats': z.tuple([]),
  'exports:pdf': z.tuple([invoice]),
  'exports:csv': z.tuple([invoice]),
  'exports:bulkPdf': z.tuple([SearchParamsSchema]),
  'exports:cancel': z.tuple([id]),
  'jobs:list': z.tuple([JobsFilter]),
  'jobs:get': z.tuple([jobId, ItemsFilter]),
  'jobs:watch': z.tuple([jobId]),
  'jobs:unwatch': z.tuple([jobId]),
  'runs:start': z.tuple([RunRequestSchema]),
  'runs:cancel': z.tuple([jobId]),
  'runs:resume': z.tuple([jobId]),
  'schedule:get': z.tuple([]),
  'schedule:update': z.tuple([SchedulerConfigUpdateSchema]),
} as const;
export type Channel = keyof typeof CHANNELS;

/** Events the main process sends to the renderer. */
export const EVENTS = ['exports:progress', 'jobs:event', 'servers:status'] as const;
export type EventChannel = (typeof EVENTS)[number];

export interface SavedServer {
  id: string;
  name: string;
  url: string;
  hasToken: boolean;
  /** The token is kept for this session only: the system offers no keyring to encrypt it. */
  sessionOnly: boolean;
}

/** The three things "test connection" reports, each on its own. */
export interface ConnectionReport {
  reachable: boolean;
  health: 'ok' | 'degraded' | 'unreachable';
  database: string | null;
  version: string | null;
  auth: 'ok' | 'rejected' | 'not_admin' | 'untested';
  message: string;
}

export interface ConnectionStatus {
  server: SavedServer | null;
  online: boolean;
  message: string | null;
  checkedAt: string | null;
}

export interface ExportResult {
  /** null when the person cancelled the save dialog. */
  file: string | null;
  bytes: number;
}

export interface BulkExportProgress {
  exportId: string;
  done: number;
  total: number;
  file: string | null;
  state: 'running' | 'done' | 'cancelled' | 'failed';
  error?: string;
}

export interface BulkExportResult {
  exportId: string;
  folder: string | null;
  files: number;
  manifest: string | null;
  state: 'done' | 'cancelled' | 'failed' | 'not_started';
  error?: string;
}

export interface JobsPage {
  jobs: Job[];
  total: number;
  page: number;
  per_page: number;
}

export type JobWithItems = Job & { items: { items: JobItem[]; total: number; page: number; per_page: number } };

export type { BridgeErrorShape } from './bridge-error';
import type { BridgeErrorShape } from './bridge-error';
import { ACCOUNT_NUMBER } from './period';

export interface ArchiveBridge {
  servers: {
    list(): Promise<SavedServer[]>;
    save(input: ServerInput): Promise<SavedServer>;
    remove(id: string): Promise<void>;
    test(input: { url: string; token?: string; serverId?: string }): Promise<ConnectionReport>;
    connect(id: string): Promise<ConnectionReport>;
    current(): Promise<SavedServer | null>;
    disconnect(): Promise<void>;
    status(): Promise<ConnectionStatus>;
    onStatus(listener: (s: ConnectionStatus) => void): () => void;
  };
  snapshots: {
    search(params: SearchParams): Promise<SearchResult>;
    get(invoice: string): Promise<SnapshotDetail>;
    company(account: string, page: { limit: number; offset: number }): Promise<CompanyHistory>;
    stats(): Promise<Stats>;
  };
  exports: {
    pdf(invoice: string): Promise<ExportResult>;
    csv(invoice: string): Promise<ExportResult>;
    bulkPdf(params: SearchParams): Promise<BulkExportResult>;
    cancel(exportId: string): Promise<void>;
    onProgress(listener: (p: BulkExportProgress) => void): () => void;
  };
  jobs: {
    list(filter: z.infer<typeof JobsFilter>): Promise<JobsPage>;
    get(id: string, filter: z.infer<typeof ItemsFilter>): Promise<JobWithItems>;
    /** Live events of one run until it ends. */
    watch(id: string, listener: (e: RunEvent) => void): () => void;
  };
  runs: {
    start(req: RunRequest): Promise<{ job_id: string; status: string }>;
    cancel(id: string): Promise<Job>;
    resume(id: string): Promise<{ job_id: string; status: string }>;
  };
  schedule: {
    get(): Promise<SchedulerConfig>;
    update(patch: SchedulerConfigUpdate): Promise<SchedulerConfig>;
  };
}

export { BridgeError } from './bridge-error';

/** How a call's result crosses IPC: errors keep their code and details. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: BridgeErrorShape };

/** The field errors of a 400, as `field: reason` lines, for forms. */
export function fieldErrors(err: unknown): Record<string, string> {
  const fields = (err as BridgeErrorShape)?.details?.fields as { field: string; reason: string }[] | undefined;
  return Object.fromEntries((fields ?? []).map((f) => [f.field, f.reason]));
}
