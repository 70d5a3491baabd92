/**
 * The main process's side of the bridge: one handler per channel of shared/bridge.ts, every
 * call's arguments validated against the channel's schema, results and errors sent back as
 * an envelope that keeps the error's code. No Electron import here: the window, the
 * keyring and the dialogs come in as dependencies, so tests drive it with fakes.
 */
import {
  BridgeError,
  CHANNELS,
  type BridgeErrorShape,
  type Channel,
  type ConnectionReport,
  type ConnectionStatus,
  type Envelope,
  type EventChannel,
  type EventPayload,
  type Handlers,
  type SavedServer,
} from '../../shared/bridge';
import { isApiCall } from '../../shared/api-calls';
import { checkConnection, savedServerUrl } from '../../shared/connection';
import { ArchiveClient, type FetchLike } from '../../shared/archive-client';
import { Exporter, type DialogLike } from './exporter';
import type { ServerStore } from './servers';
import { monitorCalls, type TrustStore } from '../../shared/monitor';

export interface MainDeps {
  store: ServerStore;
  /** What this computer trusted of each server's log. */
  trust: TrustStore;
  dialog: DialogLike;
  downloadsDir: string;
  /** Sends an event to the renderer. */
  send<E extends EventChannel>(channel: E, payload: EventPayload<E>): void;
  fetchImpl?: FetchLike;
  exportConcurrency?: number;
}

export interface MainApi {
  handlers: Handlers;
  /** The connected server's API client (the plain API calls go to it as they are). */
  client(): ArchiveClient;
  /** Checks the connection now and tells the renderer (also every few seconds from main). */
  ping(): Promise<ConnectionStatus>;
  shutdown(): void;
}

export function createMainApi(deps: MainDeps): MainApi {
  let current: { server: SavedServer; api: ArchiveClient } | undefined;
  let status: ConnectionStatus = { server: null, online: false, message: null, checkedAt: null };
  const watches = new Map<string, AbortController>();
  const exporter = new Exporter({
    dialog: deps.dialog,
    downloadsDir: deps.downloadsDir,
    progress: (p) => deps.send('exports:progress', p),
    concurrency: deps.exportConcurrency,
  });

  const api = (): ArchiveClient => {
    if (!current) throw new BridgeError('not_connected', 'Not connected to a server: choose one in Connect');
    return current.api;
  };
  const setStatus = (next: ConnectionStatus) => {
    const changed = next.online !== status.online || next.server?.id !== status.server?.id || next.message !== status.message;
    status = next;
    if (changed) deps.send('servers:status', status);
  };

  const monitor = monitorCalls(deps.trust, () => {
    if (!current) throw new BridgeError('not_connected', 'Not connected to a server: choose one in Connect');
    return { serverId: current.server.id, client: current.api };
  });

  const test = (url: string, token: string | undefined): Promise<ConnectionReport> => checkConnection(url, token, { fetch: deps.fetchImpl });

  const handlers: Handlers = {
    'servers:list': async () => deps.store.list(),
    'servers:save': async (input) => deps.store.save(input),
    'servers:remove': async (id) => {
      if (current?.server.id === id) current = undefined;
      deps.store.remove(id);
      deps.trust.remove(id);
    },
    'servers:test': async (input) => {
      const { url, token, serverId } = input;
      if (serverId && !token) {
        // A saved token goes only to the address it was saved for, never to one typed beside it.
        return test(savedServerUrl(deps.store.get(serverId), url), deps.store.token(serverId));
      }
      return test(url, token);
    },
    'servers:connect': async (id) => {
      const server = deps.store.get(id);
      const token = deps.store.token(id);
      const report = await test(server.url, token);
      if (report.auth === 'ok') {
        current = { server, api: new ArchiveClient(server.url, token, { fetch: deps.fetchImpl }) };
        setStatus({ server, online: true, message: null, checkedAt: new Date().toISOString() });
      }
      return report;
    },
    'servers:current': async () => current?.server ?? null,
    'servers:disconnect': async () => {
      current = undefined;
      for (const w of watches.values()) w.abort();
      setStatus({ server: null, online: false, message: null, checkedAt: null });
    },
    'servers:status': async () => status,
    'exports:pdf': async (invoice, revision) => exporter.file(api(), invoice, 'pdf', revision),
    'exports:csv': async (invoice, revision) => exporter.file(api(), invoice, 'csv', revision),
    'exports:bulkPdf': async (params) => exporter.bulkPdf(api(), params),
    'exports:bundle': async (invoice, revision) => exporter.file(api(), invoice, 'bundle', revision),
    'exports:cancel': async (id) => exporter.cancel(id),
    'integrity:check': () => monitor.check(),
    'integrity:trust': (keyId) => monitor.trust(keyId),
    'integrity:verifyBill': (invoice, digest, revision) => monitor.verifyBill(invoice, digest, revision),
    'jobs:watch': async (id) => {
      const jobId = id;
      watches.get(jobId)?.abort();
      const abort = new AbortController();
      watches.set(jobId, abort);
      const client = api();
      // Follows the stream in the background; the renderer gets `jobs:event` messages.
      void (async () => {
        try {
          await client.events(jobId, (event) => deps.send('jobs:event', { jobId, event }), abort.signal);
        } catch (err) {
          if (!abort.signal.aborted) deps.send('jobs:event', { jobId, error: (err as Error).message });
        } finally {
          if (watches.get(jobId) === abort) watches.delete(jobId);
        }
      })();
    },
    'jobs:unwatch': async (id) => {
      watches.get(id)?.abort();
      watches.delete(id);
    },
  };

  return {
    handlers,
    client: api,
    async ping() {
      if (!current) return status;
      try {
        await current.api.request('/health', { auth: false, timeoutMs: 10_000 });
        setStatus({ server: current.server, online: true, message: null, checkedAt: new Date().toISOString() });
      } catch (err) {
        setStatus({ server: current.server, online: false, message: (err as Error).message, checkedAt: new Date().toISOString() });
      }
      return status;
    },
    shutdown() {
      for (const w of watches.values()) w.abort();
    },
  };
}

/**
 * Validates a call against its channel's schema and wraps the outcome in an envelope. A plain
 * API call (shared/api-calls.ts) goes to the connected server's client as it is; the others
 * to their handler.
 */
export async function dispatch(main: Pick<MainApi, 'handlers' | 'client'>, channel: string, args: unknown[]): Promise<Envelope<unknown>> {
  if (!Object.hasOwn(CHANNELS, channel)) return { ok: false, error: { code: 'invalid_arguments', message: `Unknown channel ${channel}` } };
  const parsed = CHANNELS[channel as Channel].args.safeParse(args);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`);
    return { ok: false, error: { code: 'invalid_arguments', message: `Invalid arguments for ${channel}: ${issues.join('; ')}`, details: { issues } } };
  }
  try {
    const valid = parsed.data as unknown[];
    const value = isApiCall(channel)
      ? await (main.client().call as (name: string, ...a: unknown[]) => Promise<unknown>)(channel, ...valid)
      : await (main.handlers[channel as keyof Handlers] as (...a: unknown[]) => Promise<unknown>)(...valid);
    return { ok: true, value: value ?? null };
  } catch (err) {
    return { ok: false, error: toShape(err) };
  }
}

function toShape(err: unknown): BridgeErrorShape {
  if (err instanceof BridgeError) return { code: err.code, message: err.message, status: err.status, details: err.details };
  return { code: 'internal', message: (err as Error)?.message ?? String(err) };
}
