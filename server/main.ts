/**
 * The server process: configuration, database, HTTP listener, graceful shutdown.
 * `startServer` is also what tests and the benchmark call to run a real instance.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from './app';
import { createMetrics, type Metrics } from './metrics';
import { replicaReads } from './db/reads';
import { openMigratedPostgres } from './boot';
import { createRunEngine, type RunEngine } from './runs/engine';
import { loadConfig, requireTokens, type Config } from './config';
import { openDatabase, type Database } from './db/database';
import { migrateToLatest } from './db/migrate';
import { ensureDefaultSchedule } from './schedule/store';
import type { Tokens } from './http/auth';
import { answerClientError } from './http/errors';
import { createLogger, type Logger } from './log';
import { createPdfRenderer } from './pdf/pool';
import { JobWatch } from './runs/watch';
import { StartupError } from './startup-error';
import { Scheduler } from './schedule/schedule';
import { embeddedTokens } from './tokens';
import { VERSION } from './version';
import { openSigner } from './integrity/setup';
import { Sequencer } from './integrity/sequencer';

export interface RunningServer {
  url: string;
  port: number;
  /** GET /metrics without a token, when METRICS_BIND is set. */
  metricsUrl: string | undefined;
  db: Database;
  tokens: Tokens;
  log: Logger;
  engine: RunEngine;
  scheduler: Scheduler | undefined;
  watch: JobWatch;
  sequencer: Sequencer;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  quiet?: boolean;
  /** Replaces the schedule's clock and timer (tests of the schedule). */
  schedulerClock?: Pick<ConstructorParameters<typeof Scheduler>[0], 'now' | 'arm' | 'pollMs'>;
}

export async function startServer(config: Config = loadConfig(), opts: StartOptions = {}): Promise<RunningServer> {
  const log = opts.log ?? createLogger(config.logLevel);
  let tokens: Tokens;
  let db: Database;
  if (config.databaseUrl) {
    tokens = requireTokens(config);
    db = await openMigratedPostgres({ ...config, databaseUrl: config.databaseUrl }, { log, server: true });
  } else {
    db = await openDatabase({ dataDir: config.dataDir });
    await migrateToLatest(db.knex);
    await ensureDefaultSchedule(db.knex);
    const t = embeddedTokens(config);
    tokens = t;
    if (t.created && !opts.quiet) printNewTokens(t);
    else log.info({ tokens_file: t.file }, 'embedded database: tokens are in the data folder');
  }

  // What start-up has opened, undone in reverse when a later step fails.
  const opened: (() => unknown)[] = [() => db.close()];
  const failed = async (err: unknown): Promise<never> => {
    for (const undo of opened.reverse()) {
      try {
        await undo();
      } catch {
        // Start-up has failed already: that is the error to report.
      }
    }
    throw err;
  };
  if (config.readDatabaseUrl && !config.databaseUrl) await failed(new StartupError('DATABASE_READ_URL is set without DATABASE_URL: a replica needs the PostgreSQL it replicates'));
  // The replica for reads (its statements cancelled as the primary's); nothing is checked or written there.
  const replica = config.readDatabaseUrl
    ? await openDatabase({
        databaseUrl: config.readDatabaseUrl,
        dataDir: config.dataDir,
        poolMax: config.poolMax,
        statementTimeoutMs: config.statementTimeoutMs,
        lockTimeoutMs: config.lockTimeoutMs,
        log,
      })
    : undefined;
  if (replica) opened.push(() => replica.close());
  const reads = replicaReads(db.knex, replica?.knex, (err) => log.warn({ err: (err as Error).message }, 'the replica could not answer a read: the primary did'));

  const { signer, warnings } = await openSigner(config, db.knex).catch(failed);
  for (const w of warnings) log.warn(w);
  const sequencer = new Sequencer({ knex: db.knex, signer, log, intervalMs: config.integrity.intervalMs });
  await sequencer.start().catch(failed);
  opened.push(() => sequencer.stop());

  const engine = createRunEngine(config, db, log, tokens.serviceToken, opts.schedulerClock?.now);
  opened.push(() => engine.shutdown());
  await engine.recoverInterrupted().catch(failed);
  // A run whose server died while this one is up is noticed too (its lock is gone).
  const recovery = setInterval(() => engine.recoverInterrupted().catch((err) => log.warn({ err }, 'could not check for interrupted runs')), 30_000);
  recovery.unref();
  opened.push(() => clearInterval(recovery));
  const scheduler = config.scheduler ? new Scheduler({ knex: db.knex, engine, log, timeZone: config.timeZone, ...opts.schedulerClock }) : undefined;

  const watch = new JobWatch(db.knex, engine, config.eventsMaxSubscribers);
  const pdf = createPdfRenderer(config.pdfWorkers, { currency: config.currency, issuer: config.issuer });
  opened.push(() => pdf.close());
  const metrics = createMetrics(db.knex, { serverTz: config.timeZone, dataDir: config.dataDir, backupDir: config.ops.backupDir });
  const app = createApp({
    knex: db.knex,
    reads,
    replica: replica?.knex,
    tokens,
    log,
    totalsTolerance: config.totalsTolerance,
    bodyLimit: config.bodyLimit,
    timeZone: config.timeZone,
    currency: config.currency,
    trustProxy: config.trustProxy,
    version: VERSION,
    engine,
    scheduler,
    watch,
    pdf,
    integrity: { signer, sequencer },
    metrics,
  });
  // Node checks these timeouts every connectionsCheckingInterval (30 s by default): often
  // enough here that a request is cut within about a second of its limit.
  const server = http.createServer(
    { requestTimeout: config.requestTimeoutMs, headersTimeout: config.headersTimeoutMs, connectionsCheckingInterval: Math.min(1000, config.headersTimeoutMs) },
    app.callback(),
  );
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerClientError);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch((err) => failed(new StartupError(`Cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`)));
  opened.push(() => new Promise((resolve) => server.close(resolve)));
  const metricsServer = config.ops.metricsBind ? await listenForMetrics(config.ops.metricsBind, metrics, log).catch(failed) : undefined;
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined;
  const metricsUrl = metricsAddress
    ? `http://${config.ops.metricsBind!.host.includes(':') ? `[${config.ops.metricsBind!.host}]` : config.ops.metricsBind!.host}:${metricsAddress.port}/metrics`
    : undefined;
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url, database: db.kind, location: db.location, version: VERSION }, 'archive listening');
  await scheduler?.start().catch((err) => log.error({ err }, 'the schedule could not start; runs can still be started by hand'));

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      scheduler?.stop();
      clearInterval(recovery);
      await engine.shutdown();
      await sequencer.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Event streams stay open by design; they are cut once the runs have stopped.
        setTimeout(() => server.closeAllConnections(), 1000).unref();
      });
      await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
      await Promise.all([db.close(), pdf.close(), replica?.close()]);
    })());
  return { url, port, metricsUrl, db, tokens, log, engine, scheduler, watch, sequencer, close };
}

/**
 * METRICS_BIND: GET /metrics without a token, on an address of its own (for a Prometheus on
 * this host or a private network); nothing else is served there.
 */
async function listenForMetrics(bind: { host: string; port: number }, metrics: Metrics, log: Logger): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'Only GET /metrics is served here', code: 'not_found' }));
      return;
    }
    metrics.render().then(
      (text) => res.writeHead(200, { 'Content-Type': metrics.contentType }).end(text),
      (err: Error) => {
        log.warn({ err }, 'metrics could not be read');
        res.writeHead(503, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: 'The metrics could not be read', code: 'unavailable' }));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bind.port, bind.host, () => resolve());
  }).catch((err) => {
    throw new StartupError(`Cannot listen for metrics on ${bind.host}:${bind.port} (METRICS_BIND): ${(err as Error).message}`);
  });
  const { port } = server.address() as AddressInfo;
  log.info({ url: `http://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${port}/metrics` }, 'metrics listening');
  return server;
}

function printNewTokens(t: { serviceToken: string; adminToken: string; file: string }): void {
  process.stdout.write(
    ['', 'Archive generated its access tokens (shown once; kept in ' + t.file + ', mode 0600):', `  SERVICE_TOKEN=${t.serviceToken}`, `  ADMIN_TOKEN=${t.adminToken}`, ''].join('\n') + '\n',
  );
}

/** Runs until SIGINT/SIGTERM, then stops the runs (they can be resumed), drains requests and closes the database. */
export async function runServerProcess(config: Config, opts: { onClose?: () => Promise<void> } = {}): Promise<RunningServer> {
  const running = await startServer(config);
  const stop = (signal: string) => {
    running.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    running
      .close()
      .then(() => opts.onClose?.())
      .then(
        () => {
          running.log.flush();
          process.exit(0);
        },
        (err) => {
          running.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  return running;
}
