/**
 * The bridge's channel names alone, without their schemas: the sandboxed preload can load
 * no dependency (zod included), so it builds `window.archive` from this list. shared/bridge.ts
 * checks at compile time that it names exactly the channels of its table.
 */
export const CHANNEL_NAMES = [
  'servers:list',
  'servers:save',
  'servers:remove',
  'servers:test',
  'servers:connect',
  'servers:current',
  'servers:disconnect',
  'servers:status',
  'snapshots:search',
  'snapshots:get',
  'snapshots:company',
  'snapshots:stats',
  'exports:pdf',
  'exports:csv',
  'exports:bulkPdf',
  'exports:cancel',
  'jobs:list',
  'jobs:get',
  'jobs:watch',
  'jobs:unwatch',
  'runs:start',
  'runs:cancel',
  'runs:resume',
  'schedule:get',
  'schedule:update',
] as const;
