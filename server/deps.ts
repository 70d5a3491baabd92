/**
 * What the routes are given: the services (the run engine, the schedule, the live job
 * followers), the database, and the settings they read. Declared beside the services, so
 * routes import neither the app nor each other.
 */
import type { Knex } from 'knex';
import type { Tokens } from './http/auth';
import type { Logger } from './log';
import type { PdfRenderer } from './pdf/pool';
import type { RunEngine } from './runs/engine';
import type { JobWatch } from './runs/watch';
import type { Scheduler } from './schedule/schedule';
import type { Sequencer } from './integrity/sequencer';
import type { Signer } from './integrity/signer';
import type { Metrics } from './metrics';
import type { Reads } from './db/reads';

export interface AppDeps {
  knex: Knex;
  /** Reads that may be served by the replica (DATABASE_READ_URL), with the primary behind it. */
  reads: Reads;
  /** The replica's own connection, for /health; undefined without one. */
  replica?: Knex;
  tokens: Tokens;
  log: Logger;
  totalsTolerance: string;
  bodyLimit: string;
  timeZone: string;
  /** ARCHIVE_CURRENCY. */
  currency: string;
  /** TRUST_PROXY: proxies whose X-Forwarded-For is believed (0: the connection's address only). */
  trustProxy?: number;
  version: string;
  engine?: RunEngine;
  scheduler?: Scheduler;
  /** Live followers of jobs (event streams), capped. */
  watch: JobWatch;
  /** Renders bill PDFs off the event loop. */
  pdf: PdfRenderer;
  /** The tamper-evident log: its signing key (the public half) and its sequencer. */
  integrity: { signer: Signer; sequencer: Sequencer };
  /** Prometheus metrics (GET /metrics); requests are timed into them. */
  metrics?: Metrics;
}
