/** `window.archive` from an IPC transport: every channel of shared/bridge.ts, nothing more. */
import type { ArchiveBridge, BridgeCalls, Call, Channel, ChannelResult, Envelope, EventChannel, EventPayload } from '../../shared/bridge';
import { CHANNEL_NAMES } from '../../shared/channel-names';
import { BridgeError } from '../../shared/bridge-error';

export interface Transport {
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
  const calls: Record<string, Record<string, unknown>> = {};
  for (const channel of CHANNEL_NAMES) {
    const [domain, verb] = channel.split(':');
    (calls[domain] ??= {})[verb] = call(channel);
  }
  const c = calls as unknown as BridgeCalls;
  return {
    servers: { ...c.servers, onStatus: (listener) => on('servers:status', listener) },
    snapshots: c.snapshots,
    exports: { ...c.exports, onProgress: (listener) => on('exports:progress', listener) },
    jobs: {
      list: c.jobs.list,
      get: c.jobs.get,
      watch: (id, listener) => {
        const off = on('jobs:event', (m) => {
          if (m.jobId === id && m.event) listener(m.event);
        });
        void c.jobs.watch(id);
        return () => {
          off();
          void c.jobs.unwatch(id);
        };
      },
    },
    runs: c.runs,
    schedule: c.schedule,
  };
}
