/**
 * `window.archive` from an IPC transport: every channel of shared/bridge.ts, nothing more. The
 * sandboxed preload loads no dependency (zod included), so it asks the main process for the
 * table's channel names once (`CHANNELS_QUERY`, answered synchronously) and places each call
 * by its name.
 */
import type { ArchiveBridge, BridgeCalls, Call, Channel, ChannelResult, Envelope, EventChannel, EventPayload } from '../../shared/bridge';
import { BridgeError } from '../../shared/bridge-error';
import { placeCalls } from '../../shared/bridge-calls';

/** The IPC message the main process answers with the names of CHANNELS. */
export const CHANNELS_QUERY = 'archive:channels';

export interface Transport {
  /** The names of the table's channels (from the main process). */
  channels(): readonly Channel[];
  invoke(channel: Channel, ...args: unknown[]): Promise<Envelope<unknown>>;
  on(channel: EventChannel, listener: (payload: unknown) => void): () => void;
}

export function createBridge(t: Transport): ArchiveBridge {
  // Each method is the channel's Call type (shared/bridge.ts): a channel wired to the wrong
  // method does not type-check.
  const call =
    <C extends Channel>(channel: C): Call<C> =>
    async (...args) => {
      const env = await t.invoke(channel, ...args);
      if (!env.ok) throw new BridgeError(env.error.code, env.error.message, env.error.status, env.error.details);
      return env.value as ChannelResult<C>;
    };
  const on = <E extends EventChannel>(channel: E, listener: (payload: EventPayload<E>) => void) => t.on(channel, (p) => listener(p as EventPayload<E>));
  // Placed by name: channel `domain:verb` becomes `domain.verb`, so no call can be wired under another name.
  const c = placeCalls(t.channels(), call) as unknown as BridgeCalls;
  const { watch, unwatch, ...jobs } = c.jobs;
  return {
    ...c,
    servers: { ...c.servers, onStatus: (listener) => on('servers:status', listener) },
    exports: { ...c.exports, onProgress: (listener) => on('exports:progress', listener) },
    jobs: {
      ...jobs,
      watch: (id, listener) => {
        const off = on('jobs:event', (m) => {
          if (m.jobId === id && m.event) listener(m.event);
        });
        void watch(id);
        return () => {
          off();
          void unwatch(id);
        };
      },
    },
  };
}
