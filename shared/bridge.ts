/**
 * The desktop app's one bridge between the renderer and the main process, declared once.
 * Every call is a channel named `domain:verb` with a zod schema for its arguments; the
 * preload builds `window.archive` from this list, the main process validates every call
 * with it, and the web implementation (tests in Chromium) implements the same interface.
 * The renderer never sees a token or the server's URL beyond what it typed in Connect.
 * Browser-safe.
 */
import { z } from 'zod';
import { API_CALLS, invoiceArg, jobIdArg, returns, revisionArg, SearchParamsSchema, type ApiCall } from './api-calls';
import type { RunEvent } from './runs';
import type { BillCheck, LogCheck } from './monitor';

export type { JobsPage, JobWithItems, RunStarted, SearchParams } from './api-calls';
export type { BillCheck, LogCheck } from './monitor';

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
  'exports:pdf': { args: z.tuple([invoiceArg, revisionArg]), result: returns<ExportResult>() },
  'exports:csv': { args: z.tuple([invoiceArg, revisionArg]), result: returns<ExportResult>() },
  'exports:bulkPdf': { args: z.tuple([SearchParamsSchema]), result: returns<BulkExportResult>() },
  'exports:bundle': { args: z.tuple([invoiceArg, revisionArg]), result: returns<ExportResult>() },
  'exports:cancel': { args: z.tuple([id]), result: returns<void>() },
  // The connected server's log, checked on this computer against the key trusted first (shared/monitor.ts).
  'integrity:check': { args: z.tuple([]), result: returns<LogCheck>() },
  'integrity:trust': { args: z.tuple([z.string().regex(/^[0-9a-f]{8}$/, { message: 'must be the 8-character key ID' })]), result: returns<LogCheck>() },
  'integrity:verifyBill': { args: z.tuple([invoiceArg, z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be the SHA-256 of the bill shown' }), revisionArg]), result: returns<BillCheck>() },
  'jobs:watch': { args: z.tuple([jobIdArg]), result: returns<void>() },
  'jobs:unwatch': { args: z.tuple([jobIdArg]), result: returns<void>() },
  // The calls of the REST API, each passed to the server as it is (shared/api-calls.ts).
  ...API_CALLS,
} as const;
export type Channel = keyof typeof CHANNELS;
/** A channel's arguments as the caller passes them, and as the handler receives them (validated). */
export type ChannelArgs<C extends Channel> = z.input<(typeof CHANNELS)[C]['args']>;
export type HandlerArgs<C extends Channel> = z.output<(typeof CHANNELS)[C]['args']>;
export type ChannelResult<C extends Channel> = (typeof CHANNELS)[C]['result'];
/** The bridge method of a channel. */
export type Call<C extends Channel> = (...args: ChannelArgs<C>) => Promise<ChannelResult<C>>;
/** The main process's handler of a channel. */
export type Handler<C extends Channel> = (...args: HandlerArgs<C>) => Promise<ChannelResult<C>>;
/** The main process's own handlers: every channel that is not a plain API call (those go to the server as they are). */
export type Handlers = { [C in Exclude<Channel, ApiCall>]: Handler<C> };

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
  /** `ok`: the token may at least read bills. */
  auth: 'ok' | 'rejected' | 'untested';
  /** The token's name and what it may do, once accepted. */
  token: { name: string; scopes: string[] } | null;
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

export type { BridgeErrorShape } from './bridge-error';
import type { BridgeErrorShape } from './bridge-error';

type DomainOf<C extends string> = C extends `${infer D}:${string}` ? D : never;
type VerbOf<C extends string, D extends string> = C extends `${D}:${infer V}` ? V : never;

/**
 * Every call, placed by its channel's name (`domain:verb` is `bridge.domain.verb`) and typed
 * from CHANNELS: a call cannot sit under another channel's name.
 */
export type BridgeCalls = { [D in DomainOf<Channel>]: { [C in Channel as VerbOf<C, D>]: Call<C> } };

/** The plain API calls alone, placed the same way (both bridges build them from shared/api-calls.ts). */
export type ApiBridgeCalls = { [D in DomainOf<ApiCall>]: { [C in ApiCall as VerbOf<C, D>]: Call<C> } };

/** `window.archive`: the calls, plus the event subscriptions (and jobs.watch, built on jobs:watch/unwatch and jobs:event). */
export type ArchiveBridge = Omit<BridgeCalls, 'servers' | 'exports' | 'jobs'> & {
  servers: BridgeCalls['servers'] & { onStatus(listener: (s: EventPayload<'servers:status'>) => void): () => void };
  exports: BridgeCalls['exports'] & { onProgress(listener: (p: EventPayload<'exports:progress'>) => void): () => void };
  jobs: Omit<BridgeCalls['jobs'], 'watch' | 'unwatch'> & {
    /** Live events of one run until it ends. */
    watch(id: string, listener: (e: RunEvent) => void): () => void;
  };
};

export { BridgeError } from './bridge-error';

/** How a call's result crosses IPC: errors keep their code and details. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: BridgeErrorShape };

/** The field errors of a 400, as `field: reason` lines, for forms. */
export function fieldErrors(err: unknown): Record<string, string> {
  const fields = (err as BridgeErrorShape)?.details?.fields as { field: string; reason: string }[] | undefined;
  return Object.fromEntries((fields ?? []).map((f) => [f.field, f.reason]));
}
