/** `window.archive` from an IPC transport: every channel of shared/bridge.ts, nothing more. */
import type { ArchiveBridge, Channel, Envelope, EventChannel } from '../../shared/bridge';
import { BridgeError } from '../../shared/bridge-error';
import type { RunEvent } from '../../shared/runs';

export interface Transport {
  invoke(channel: Channel, ...args: unknown[]): Promise<Envelope<unknown>>;
  on(channel: EventChannel, listener: (payload: unknown) => void): () => void;
}

export function createBridge(t: Transport): ArchiveBridge {
  const call =
    <T>(channel: Channel) =>
    async (...args: unknown[]): Promise<T> => {
      const env = await t.invoke(channel, ...args);
      if (!env.ok) throw new BridgeError(env.error.code, env.error.message, env.error.status, env.error.details);
      return env.value as T;
    };
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
      onStatus: (listener) => t.on('servers:status', listener as (p: unknown) => void),
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
      onProgress: (listener) => t.on('exports:progress', listener as (p: unknown) => void),
    },
    jobs: {
      list: call('jobs:list'),
      get: call('jobs:get'),
      watch: (id, listener) => {
        const off = t.on('jobs:event', (p) => {
          const m = p as { jobId: string; event?: RunEvent };
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
