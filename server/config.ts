/**
 * Configuration from the environment and a `.env` file in the working directory
 * (the guide's `.flaskenv`; systemd passes the same file with EnvironmentFile=).
 * Variables already set in the environment win over the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { z } from 'zod';
import { isTimeZone } from '../shared/api';

const MIN_TOKEN_LENGTH = 24;

const EnvSchema = z.object({
  SERVICE_PORT: z.coerce.number().int().min(0).max(65535).default(5012),
  SERVICE_HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })
    .optional(),
  // A streaming replica for reads (search, bills, exports); writes and what must read its own writes use DATABASE_URL.
  DATABASE_READ_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, { message: 'must be a postgres:// URL' })
    .optional(),
  SERVICE_TOKEN: z.string().optional(),
  ADMIN_TOKEN: z.string().optional(),
  CODEX_URL: z.string().url().default('http://localhost:5010'),
  LEDGER_URL: z.string().url().default('http://localhost:5011'),
  ARCHIVE_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  DATABASE_POOL_MIN: z.coerce.number().int().min(0).max(200).default(2),
  // PostgreSQL cancels a statement that runs, or waits for a lock, longer than these (ms).
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  DB_LOCK_TIMEOUT_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  // Live event streams open at once (GET /api/runs/:id/events).
  EVENTS_MAX_SUBSCRIBERS: z.coerce.number().int().min(1).max(10_000).default(100),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TOTALS_TOLERANCE: z
    .string()
    .regex(/^\d+(\.\d{1,2})?$/, { message: 'must be an amount such as 0.05' })
    .default('0.05'),
  BODY_LIMIT: z
    .string()
    .regex(/^\d+(kb|mb)$/i, { message: 'must look like 10mb' })
    .default('10mb'),
  CODEX_TOKEN: z.string().optional(),
  LEDGER_TOKEN: z.string().optional(),
  RUN_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  // Worker threads preparing a run's bills; default: one fewer than the cores (at least 1, at most 4).
  RUN_WORKERS: z.coerce
    .number()
    .int()
    .min(0)
    .max(32)
    .default(Math.max(1, Math.min(4, os.availableParallelism() - 1))),
  // Worker threads rendering bill PDFs; default: the cores (at most 4), as a bulk export is
  // bounded work the event loop still gets its share beside. 0 renders them on the event loop.
  PDF_WORKERS: z.coerce.number().int().min(0).max(32).default(Math.min(4, os.availableParallelism())),
  PEER_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(15_000),
  PEER_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
  PEER_BACKOFF_MS: z.coerce.number().int().min(0).max(60_000).default(250),
  // Largest answer read from Ledger or Codex; default: BODY_LIMIT.
  PEER_MAX_BYTES: z
    .string()
    .regex(/^\d+(kb|mb)?$/i, { message: 'must be a size such as 10mb' })
    .optional(),
  // Receiving a request (headers, then the whole body) must finish within these (Node's own default is 300 s).
  REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(10_000),
  SCHEDULER: z.enum(['on', 'off']).default('on'),
  ARCHIVE_TIMEZONE: z
    .string()
    .refine(isTimeZone, { message: 'must be an IANA time zone' })
    .default(Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'),
  // The currency of every amount (ISO 4217), shown in the app, the PDF and exports.
  ARCHIVE_CURRENCY: z.string().refine(isCurrency, { message: 'must be an ISO 4217 currency code such as USD or EUR' }).default('USD'),
  // Who issues the bills, printed at the head of every PDF. Address lines are separated by "|" or new lines.
  ARCHIVE_ISSUER_NAME: z.string().max(200).optional(),
  ARCHIVE_ISSUER_ADDRESS: z.string().max(1000).optional(),
  ARCHIVE_ISSUER_TAX_ID: z.string().max(100).optional(),
  ARCHIVE_ISSUER_LOGO: z.string().optional(),
  ARCHIVE_PAYMENT_TERMS: z.string().max(2000).optional(),
  // The log's Ed25519 key (PEM); unset: signing-key.pem in ARCHIVE_DATA_DIR, made on first start.
  ARCHIVE_SIGNING_KEY_FILE: z.string().min(1).optional(),
  // The log's name in its checkpoints (C2SP origin, e.g. archive.example.com/acme); fixed by the first checkpoint.
  ARCHIVE_LOG_ORIGIN: z
    .string()
    .regex(/^[^\s+]{1,200}$/, { message: 'must be a name without spaces or "+", such as archive.example.com/acme' })
    .optional(),
  // Behind a reverse proxy (the guide's nginx): how many proxies' X-Forwarded-For entries to
  // believe. off (default): the connection's own address, whatever a client claims.
  TRUST_PROXY: z
    .string()
    .regex(/^(off|on|[1-9]\d?)$/, { message: 'must be off, on (one proxy) or the number of proxies in front' })
    .default('off'),
  // How often new bills are integrated into the log (ms).
  LOG_INTEGRATE_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  // Where `archive backup` writes (default: backups/ in ARCHIVE_DATA_DIR), and for how many days it keeps them.
  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  // age recipients (age1..., comma-separated): backups are encrypted to them. The identity
  // file (AGE-SECRET-KEY-1...) is needed only to restore, and belongs off this host.
  BACKUP_AGE_RECIPIENTS: z
    .string()
    .regex(/^\s*age1[0-9a-z]+(\s*,\s*age1[0-9a-z]+)*\s*$/, { message: 'must be age recipients (age1...), separated by commas' })
    .optional(),
  BACKUP_AGE_IDENTITY_FILE: z.string().min(1).optional(),
  // A second listener for GET /metrics without a token (e.g. 127.0.0.1:9464, for Prometheus on this host); unset: none.
  METRICS_BIND: z
    .string()
    .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { message: 'must be host:port, such as 127.0.0.1:9464' })
    .optional(),
});

/** A currency JavaScript knows by its ISO 4217 code. */
function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && Intl.supportedValuesOf('currency').includes(code);
}

export interface Config {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  /** DATABASE_READ_URL: a streaming replica reads may go to. */
  readDatabaseUrl: string | undefined;
  serviceToken: string | undefined;
  adminToken: string | undefined;
  codexUrl: string;
  ledgerUrl: string;
  dataDir: string;
  poolMax: number;
  poolMin: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  eventsMaxSubscribers: number;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  totalsTolerance: string;
  bodyLimit: string;
  timeZone: string;
  codexToken: string | undefined;
  ledgerToken: string | undefined;
  runConcurrency: number;
  runWorkers: number;
  pdfWorkers: number;
  peerTimeoutMs: number;
  peerRetries: number;
  peerBackoffMs: number;
  peerMaxBytes: number;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  /** `off` keeps this server from firing the schedule (e.g. when only the systemd timer should). */
  scheduler: boolean;
  currency: string;
  issuer: Issuer;
  integrity: IntegritySettings;
  /** Proxies in front whose X-Forwarded-For is believed (0: none). */
  trustProxy: number;
  ops: OpsSettings;
}

export interface OpsSettings {
  backupDir: string;
  retentionDays: number;
  /** age recipients backups are encrypted to (none: not encrypted). */
  ageRecipients: string[];
  ageIdentityFile: string | undefined;
  metricsBind: { host: string; port: number } | undefined;
}

export interface IntegritySettings {
  keyFile: string | undefined;
  origin: string | undefined;
  intervalMs: number;
}

/** The issuer block of the PDF (ARCHIVE_ISSUER_*, ARCHIVE_PAYMENT_TERMS). */
export interface Issuer {
  name: string | null;
  addressLines: string[];
  taxId: string | null;
  /** A PNG or JPEG file, checked at start-up. */
  logoFile: string | null;
  paymentTerms: string | null;
}

export class ConfigError extends Error {}

/** Reads `.env` (if present) under the real environment and validates everything. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const fileVars = readEnvFile(path.join(cwd, '.env'));
  const merged = { ...fileVars, ...stripEmpty(env) };
  const parsed = EnvSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    port: e.SERVICE_PORT,
    host: e.SERVICE_HOST,
    databaseUrl: e.DATABASE_URL,
    readDatabaseUrl: e.DATABASE_READ_URL,
    serviceToken: e.SERVICE_TOKEN,
    adminToken: e.ADMIN_TOKEN,
    codexUrl: e.CODEX_URL,
    ledgerUrl: e.LEDGER_URL,
    dataDir: path.resolve(cwd, e.ARCHIVE_DATA_DIR),
    poolMax: e.DATABASE_POOL_MAX,
    poolMin: Math.min(e.DATABASE_POOL_MIN, e.DATABASE_POOL_MAX),
    statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    lockTimeoutMs: e.DB_LOCK_TIMEOUT_MS,
    eventsMaxSubscribers: e.EVENTS_MAX_SUBSCRIBERS,
    logLevel: e.LOG_LEVEL,
    totalsTolerance: e.TOTALS_TOLERANCE,
    bodyLimit: e.BODY_LIMIT,
    timeZone: e.ARCHIVE_TIMEZONE,
    codexToken: e.CODEX_TOKEN,
    ledgerToken: e.LEDGER_TOKEN,
    runConcurrency: e.RUN_CONCURRENCY,
    runWorkers: e.RUN_WORKERS,
    pdfWorkers: e.PDF_WORKERS,
    peerTimeoutMs: e.PEER_TIMEOUT_MS,
    peerRetries: e.PEER_RETRIES,
    peerBackoffMs: e.PEER_BACKOFF_MS,
    peerMaxBytes: sizeInBytes(e.PEER_MAX_BYTES ?? e.BODY_LIMIT),
    requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
    headersTimeoutMs: Math.min(e.HEADERS_TIMEOUT_MS, e.REQUEST_TIMEOUT_MS),
    scheduler: e.SCHEDULER === 'on',
    currency: e.ARCHIVE_CURRENCY,
    issuer: {
      name: e.ARCHIVE_ISSUER_NAME?.trim() || null,
      addressLines: (e.ARCHIVE_ISSUER_ADDRESS ?? '')
        .split(/\s*(?:\||\n|\\n)\s*/)
        .map((l) => l.trim())
        .filter(Boolean),
      taxId: e.ARCHIVE_ISSUER_TAX_ID?.trim() || null,
      logoFile: e.ARCHIVE_ISSUER_LOGO ? checkedLogo(path.resolve(cwd, e.ARCHIVE_ISSUER_LOGO)) : null,
      paymentTerms: e.ARCHIVE_PAYMENT_TERMS?.trim() || null,
    },
    trustProxy: e.TRUST_PROXY === 'off' ? 0 : e.TRUST_PROXY === 'on' ? 1 : Number(e.TRUST_PROXY),
    ops: {
      backupDir: path.resolve(cwd, e.BACKUP_DIR ?? path.join(e.ARCHIVE_DATA_DIR, 'backups')),
      retentionDays: e.BACKUP_RETENTION_DAYS,
      ageRecipients: (e.BACKUP_AGE_RECIPIENTS ?? '')
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
      ageIdentityFile: e.BACKUP_AGE_IDENTITY_FILE ? path.resolve(cwd, e.BACKUP_AGE_IDENTITY_FILE) : undefined,
      metricsBind: e.METRICS_BIND ? hostPort(e.METRICS_BIND) : undefined,
    },
    integrity: {
      keyFile: e.ARCHIVE_SIGNING_KEY_FILE ? path.resolve(cwd, e.ARCHIVE_SIGNING_KEY_FILE) : undefined,
      origin: e.ARCHIVE_LOG_ORIGIN,
      intervalMs: e.LOG_INTEGRATE_MS,
    },
  };
}

function hostPort(v: string): { host: string; port: number } {
  const at = v.lastIndexOf(':');
  return { host: v.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(v.slice(at + 1)) };
}

/** The logo must be a readable PNG or JPEG (pdfkit's image formats): refused at start-up, not at the first PDF. */
function checkedLogo(file: string): string {
  let head: Buffer;
  try {
    head = Buffer.alloc(8);
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, head, 0, 8, 0);
    fs.closeSync(fd);
  } catch (err) {
    throw new ConfigError(`Invalid configuration:\n  ARCHIVE_ISSUER_LOGO: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const png = head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const jpeg = head[0] === 0xff && head[1] === 0xd8;
  if (!png && !jpeg) throw new ConfigError(`Invalid configuration:\n  ARCHIVE_ISSUER_LOGO: ${file} is not a PNG or JPEG image`);
  return file;
}

/** With a real database the operator must set both tokens; we never invent them there. */
export function requireTokens(config: Config): { serviceToken: string; adminToken: string } {
  const problems: string[] = [];
  for (const [name, value] of [
    ['SERVICE_TOKEN', config.serviceToken],
    ['ADMIN_TOKEN', config.adminToken],
  ] as const) {
    if (!value) problems.push(`${name} is not set`);
    else if (value.length < MIN_TOKEN_LENGTH) problems.push(`${name} is shorter than ${MIN_TOKEN_LENGTH} characters`);
  }
  if (config.serviceToken && config.serviceToken === config.adminToken) problems.push('SERVICE_TOKEN and ADMIN_TOKEN must differ');
  if (problems.length) {
    throw new ConfigError(
      `Refusing to start with DATABASE_URL set: ${problems.join('; ')}.\n` +
        `Set SERVICE_TOKEN and ADMIN_TOKEN (at least ${MIN_TOKEN_LENGTH} characters each, e.g. from \`openssl rand -hex 32\`) in the environment or in .env.`,
    );
  }
  return { serviceToken: config.serviceToken!, adminToken: config.adminToken! };
}

export { MIN_TOKEN_LENGTH };

/** "10mb", "512kb" or plain bytes, as bytes. */
export function sizeInBytes(size: string): number {
  const m = /^(\d+)(kb|mb)?$/i.exec(size);
  if (!m) throw new ConfigError(`not a size: ${size}`);
  const unit = m[2]?.toLowerCase();
  return Number(m[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
}

function readEnvFile(file: string): Record<string, string> {
  try {
    return dotenv.parse(fs.readFileSync(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

function stripEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
