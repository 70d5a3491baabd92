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

/** A result type carried by the table for the type checker only (no value at run time). */
const returns = <T>() => undefined as unknown as T;

/**
 * Every channel: its arguments in order (a zod tuple: the main process validates each call
 * with it) and its result type. ArchiveBridge, the preload, the main process's handlers and
 * the web bridge are all typed from this one table, so a channel cannot be wired to the wrong
 * call without the type check failing.
 */
export const CHANNELS = {
  'servers:list': { args: z.tuple([]), result: returns<SavedServer[]>() },
  'servers:save': { args: z.tuple([ServerInput]), result: returns<SavedServer>() },
  'servers:remove': { args: z.tuple([id]), result: returns<void>() },
  'servers:test': { args: z.tuple([z.strictObject({ url: ServerInput.shape.url, token: z.string().max(500).optional(), serverId: id.optional() })]), result: returns<ConnectionReport>() },
  'servers:connect': { args: z.tuple([id]), result: returns<ConnectionReport>() },
  'servers:current': { args: z.tuple([]), result: returns<SavedServer | null>() },
  'servers:disconnect': { args: z.tuple([]), result: returns<void>() },
  'servers:status': { args: z.tuple([]), result: returns<ConnectionStatus>() },
  'snapshots:search': { args: z.tuple([SearchParamsSchema]), result: returns<SearchResult>() },
  'snapshots:get': { args: z.tuple([invoice]), result: returns<SnapshotDetail>() },
  'snapshots:company': { args: z.tuple([account, z.strictObject({ limit: z.number().int().min(1).max(1000), offset: z.number().int().min(0) })]), result: returns<CompanyHistory>() },
  'snapshots:stats': { args: z.tuple([]), result: returns<Stats>() },
  'exports:pdf': { args: z.tuple([invoice]), result: returns<ExportResult>() },
  'exports:csv': { args: z.tuple([invoice]), result: returns<ExportResult>() },
  'exports:bulkPdf': { args: z.tuple([SearchParamsSchema]), result: returns<BulkExportResult>() },
  'exports:cancel': { args: z.tuple([id]), result: returns<void>() },
  'jobs:list': { args: z.tuple([JobsFilter]), result: returns<JobsPage>() },
  'jobs:get': { args: z.tuple([jobId, ItemsFilter]), result: returns<JobWithItems>() },
  'jobs:watch': { args: z.tuple([jobId]), result: returns<void>() },
  'jobs:unwatch': { args: z.tuple([jobId]), result: returns<void>() },
  'runs:start': { args: z.tuple([RunRequestSchema]), result: returns<RunStarted>() },
  'runs:cancel': { args: z.tuple([jobId]), result: returns<Job>() },
  'runs:resume': { args: z.tuple([jobId]), result: returns<RunStarted>() },
  'schedule:get': { args: z.tuple([]), result: returns<SchedulerConfig>() },
  'schedule:update': { args: z.tuple([SchedulerConfigUpdateSchema]), result: returns<SchedulerConfig>() },
} as const;
export type Channel = keyof typeof CHANNELS;
// The preload's list of names (channel-names.ts) is exactly the table's channels, or this fails to compile.
type Named = (typeof CHANNEL_NAMES)[number];
export const CHANNEL_NAMES_MATCH: [Exclude<Channel, Named>, Exclude<Named, Channel>] extends [never, never] ? true : never = true;
/** A channel's arguments as the caller passes them, and as the handler receives them (validated). */
export type ChannelArgs<C extends Channel> = z.input<(typeof CHANNELS)[C]['args']>;
export type HandlerArgs<C extends Channel> = z.output<(typeof CHANNELS)[C]['args']>;
export type ChannelResult<C extends Channel> = (typeof CHANNELS)[C]['result'];
/** The bridge method of a channel. */
export type Call<C extends Channel> = (...args: ChannelArgs<C>) => Promise<ChannelResult<C>>;
/** The main process's handler of a channel. */
export type Handler<C extends Channel> = (...args: HandlerArgs<C>) => Promise<ChannelResult<C>>;
export type Handlers = { [C in Channel]: Handler<C> };

/** A run just started or taken up again. */
export interface RunStarted {
  job_id: string;
  status: string;
}

/** Events the main process sends to the renderer, with their payloads. */
export const EVENTS = {
  'exports:progress': returns<BulkExportProgress>(),
  'jobs:event': returns<{ jobId: string; event?: RunEvent; error?: string }>(),
  'servers:status': returns<ConnectionStatus>(),
} as const;
export type EventChannel = keyof typeof EVENTS;
export type EventPayload<E extends EventChannel> = (typeof EVENTS)[E];

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
import type { CHANNEL_NAMES } from './channel-names';

type DomainOf<C extends string> = C extends `${infer D}:${string}` ? D : never;
type VerbOf<C extends string, D extends string> = C extends `${D}:${infer V}` ? V : never;

/**
 * Every call, placed by its channel's name (`domain:verb` is `bridge.domain.verb`) and typed
 * from CHANNELS: a call cannot sit under another channel's name.
 */
export type BridgeCalls = { [D in DomainOf<Channel>]: { [C in Channel as VerbOf<C, D>]: Call<C> } };

/** `window.archive`: the calls, plus the event subscriptions (and jobs.watch, built on jobs:watch/unwatch and jobs:event). */
export type ArchiveBridge = {
  servers: BridgeCalls['servers'] & { onStatus(listener: (s: EventPayload<'servers:status'>) => void): () => void };
  snapshots: BridgeCalls['snapshots'];
  exports: BridgeCalls['exports'] & { onProgress(listener: (p: EventPayload<'exports:progress'>) => void): () => void };
  jobs: Omit<BridgeCalls['jobs'], 'watch' | 'unwatch'> & {
    /** Live events of one run until it ends. */
    watch(id: string, listener: (e: RunEvent) => void): () => void;
  };
  runs: BridgeCalls['runs'];
  schedule: BridgeCalls['schedule'];
};

export { BridgeError } from './bridge-error';

/** How a call's result crosses IPC: errors keep their code and details. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: BridgeErrorShape };

/** The field errors of a 400, as `field: reason` lines, for forms. */
export function fieldErrors(err: unknown): Record<string, string> {
  const fields = (err as BridgeErrorShape)?.details?.fields as { field: string; reason: string }[] | undefined;
  return Object.fromEntries((fields ?? []).map((f) => [f.field, f.reason]));
}
