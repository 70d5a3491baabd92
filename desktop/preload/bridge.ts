/** `window.archive` from an IPC transport: every channel of shared/bridge.ts, nothing more. */
import type { ArchiveBridge, Call, Channel, ChannelResult, Envelope, EventChannel, EventPayload } from '../../shared/bridge';
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
  return {
    servers: {
      list: call('servers:list'),
      save: call('servers:save'),
      remove: call('servers:remove'),
      test: call('servers:test'),
      connect: call('servers:connect'),
      current: call('servers:current'),
      disconnect: call('servers:disconnect'),
      status: call('servers:status'),
      onStatus: (listener) => on('servers:status', listener),
    },
    snapshots: {
      search: call('snapshots:search'),
      get: call('snapshots:get'),
      company: call('snapshots:company'),
      stats: call('snapshots:stats'),
    },
    exports: {
      pdf: call('exports:pdf'),
      csv: call('exports:csv'),
      bulkPdf: call('exports:bulkPdf'),
      cancel: call('exports:cancel'),
      onProgress: (listener) => on('exports:progress', listener),
    },
    jobs: {
      list: call('jobs:list'),
      get: call('jobs:get'),
      watch: (id, listener) => {
        const off = on('jobs:event', (m) => {
          if (m.jobId === id && m.event) listener(m.event);
        });
        void call('jobs:watch')(id);
        return () => {
          off();
          void call('jobs:unwatch')(id);
        };
      },
    },
    runs: {
      start: call('runs:start'),
      cancel: call('runs:cancel'),
      resume: call('runs:resume'),
    },
    schedule: {
      get: call('schedule:get'),
      update: call('schedule:update'),
    },
  };
}
