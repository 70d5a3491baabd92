/**
 * `archive doctor`: every step of the deployment guide's checklist and troubleshooting, checked
 * on the live installation, each a line OK / WARN / FAIL with what to do. Reads the
 * configuration, the database (through ops/state.ts and the owners' functions), the peers, the
 * signing key, the backups and the disk; writes nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { describeDbError } from '../db/db-error';
import { MIN_TOKEN_LENGTH, type Config } from '../config';
import { openDatabase, type Database } from '../db/database';
import { lockHolder } from '../db/data-dir-lock';
import { pendingMigrations } from '../db/migrate';
import { KEY_FILE_NAME, keyFileTooOpen } from '../integrity/signer';
import { CodexClient, LedgerClient, peerSettings } from '../peers/clients';
import { opsState, sizeText as mb } from './state';
import { lastOwnYear } from '../../migrations/partition-by-year';

export type Status = 'OK' | 'WARN' | 'FAIL';

export interface Finding {
  status: Status;
  area: string;
  message: string;
  /** What to do about a WARN or FAIL. */
  action?: string;
}

/** The triggers the archive's guarantees rest on (migrations 001-011), by table. */
export const REQUIRED_TRIGGERS: Record<string, string[]> = {
  billing_snapshots: ['billing_snapshots_immutable', 'billing_snapshots_no_truncate', 'billing_snapshots_count', 'billing_snapshots_log', 'billing_snapshots_correction'],
  snapshot_line_items: ['snapshot_line_items_immutable', 'snapshot_line_items_no_truncate', 'snapshot_line_items_same_transaction'],
  log_leaves: ['log_leaves_immutable', 'log_leaves_no_truncate'],
  log_nodes: ['log_nodes_immutable', 'log_nodes_no_truncate'],
  log_checkpoints: ['log_checkpoints_immutable', 'log_checkpoints_no_truncate'],
  audit_log: ['audit_log_immutable', 'audit_log_no_truncate', 'audit_log_log'],
};

const PLACEHOLDER = /change|example|secret|password|token|xxxx|1234|your/i;

/** How guessable a token looks: its length, its variety, a placeholder. */
function tokenFindings(config: Config): Finding[] {
  const out: Finding[] = [];
  const tokens = [
    ['SERVICE_TOKEN', config.serviceToken],
    ['ADMIN_TOKEN', config.adminToken],
  ] as const;
  for (const [name, value] of tokens) {
    if (!value) {
      out.push(
        config.databaseUrl
          ? { status: 'FAIL', area: 'tokens', message: `${name} is not set: the server refuses to start on PostgreSQL without it`, action: `set ${name} in .env (openssl rand -hex 32)` }
          : { status: 'OK', area: 'tokens', message: `${name} is not set: the embedded database keeps generated tokens in its data folder` },
      );
    } else if (value.length < MIN_TOKEN_LENGTH) {
      out.push({
        status: 'FAIL',
        area: 'tokens',
        message: `${name} has ${value.length} characters, fewer than ${MIN_TOKEN_LENGTH}`,
        action: `replace it (openssl rand -hex 32) here and where it is used`,
      });
    } else if (new Set(value).size < 12 || PLACEHOLDER.test(value)) {
      out.push({
        status: 'WARN',
        area: 'tokens',
        message: `${name} looks guessable (${new Set(value).size} different characters${PLACEHOLDER.test(value) ? ', a placeholder word' : ''})`,
        action: 'replace it with openssl rand -hex 32',
      });
    } else out.push({ status: 'OK', area: 'tokens', message: `${name} is set (${value.length} characters)` });
  }
  if (config.serviceToken && config.serviceToken === config.adminToken)
    out.push({ status: 'FAIL', area: 'tokens', message: 'SERVICE_TOKEN and ADMIN_TOKEN are the same', action: 'give each its own value' });
  return out;
}

function fileFindings(config: Config, cwd: string): Finding[] {
  const out: Finding[] = [];
  const env = path.join(cwd, '.env');
  if (fs.existsSync(env)) {
    const mode = fs.statSync(env).mode & 0o777;
    out.push(
      mode & 0o077
        ? { status: 'WARN', area: 'configuration', message: `${env} is readable by others (mode ${mode.toString(8)}): it holds the tokens`, action: `chmod 600 ${env}` }
        : { status: 'OK', area: 'configuration', message: `${env} is private (mode ${mode.toString(8)})` },
    );
  } else out.push({ status: 'OK', area: 'configuration', message: 'no .env here: the configuration comes from the environment' });
  const keyFile = config.integrity.keyFile ?? path.join(config.dataDir, KEY_FILE_NAME);
  if (!fs.existsSync(keyFile)) {
    out.push({
      status: 'WARN',
      area: 'signing key',
      message: `${keyFile} does not exist yet (the server makes it on first start)`,
      action: 'start the server once, then back the key up off this host',
    });
  } else if (keyFileTooOpen(keyFile)) {
    out.push({ status: 'FAIL', area: 'signing key', message: `${keyFile} can be read by other users`, action: `chmod 600 ${keyFile}` });
  } else out.push({ status: 'OK', area: 'signing key', message: `${keyFile} is private; keep a copy off this host (it is not in the backups)` });
  if (config.ops.ageRecipients.length === 0) {
    out.push({
      status: 'WARN',
      area: 'backups',
      message: 'backups are not encrypted (BACKUP_AGE_RECIPIENTS is not set)',
      action: 'age-keygen -o restore-key.txt on a safe machine; set BACKUP_AGE_RECIPIENTS to its public key',
    });
  } else out.push({ status: 'OK', area: 'backups', message: `backups are encrypted to ${config.ops.ageRecipients.length} age recipient${config.ops.ageRecipients.length === 1 ? '' : 's'}` });
  return out;
}

/** When billing_snapshots is partitioned by year: whether next year has its partition yet. */
async function partitionFindings(knex: Knex, now: Date): Promise<Finding[]> {
  const last = await lastOwnYear(knex);
  if (last === undefined) return [];
  const next = now.getUTCFullYear() + 1;
  if (last >= next) return [{ status: 'OK', area: 'schema', message: `billing_snapshots is partitioned by year, through ${last}` }];
  return [
    {
      status: 'WARN',
      area: 'schema',
      message: `billing_snapshots is partitioned by year through ${last}: bills of ${next} would share the partition of the years after`,
      action: 'run archive partition-by-year with the service stopped: it adds the coming years',
    },
  ];
}

async function triggerFindings(knex: Knex): Promise<Finding[]> {
  const { rows } = await knex.raw(`SELECT c.relname AS t, tg.tgname AS name, tg.tgenabled AS enabled FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid WHERE NOT tg.tgisinternal`);
  const have = new Map((rows as { t: string; name: string; enabled: string }[]).map((r) => [`${r.t}.${r.name}`, r.enabled]));
  const missing: string[] = [];
  const disabled: string[] = [];
  for (const [table, names] of Object.entries(REQUIRED_TRIGGERS)) {
    for (const n of names) {
      const e = have.get(`${table}.${n}`);
      if (e === undefined) missing.push(`${table}.${n}`);
      else if (e === 'D') disabled.push(`${table}.${n}`);
    }
  }
  const total = Object.values(REQUIRED_TRIGGERS).flat().length;
  if (missing.length)
    return [
      {
        status: 'FAIL',
        area: 'schema',
        message: `triggers missing: ${missing.join(', ')}`,
        action: 'the schema was changed by hand: restore it (archive init-db --migrate-only does not recreate dropped triggers; restore from a backup) and run archive verify',
      },
    ];
  if (disabled.length)
    return [
      {
        status: 'FAIL',
        area: 'schema',
        message: `triggers disabled: ${disabled.join(', ')}`,
        action: `ALTER TABLE ... ENABLE TRIGGER ...; then archive verify (something may have been changed while they were off)`,
      },
    ];
  return [{ status: 'OK', area: 'schema', message: `the ${total} triggers that keep archived rows immutable and feed the log are present and enabled` }];
}

async function peerFindings(config: Config): Promise<Finding[]> {
  const serviceToken = config.serviceToken ?? '';
  const peers = peerSettings({ ...config, peerRetries: 0, peerTimeoutMs: Math.min(config.peerTimeoutMs, 5000) }, serviceToken);
  const out: Finding[] = [];
  try {
    const companies = await new CodexClient(peers).companies();
    out.push({ status: 'OK', area: 'Codex', message: `${config.codexUrl} answers with our token: ${companies.length} companies` });
  } catch (err) {
    out.push({ status: 'FAIL', area: 'Codex', message: `${config.codexUrl}: ${(err as Error).message}`, action: 'check CODEX_URL and CODEX_TOKEN (or SERVICE_TOKEN), and that Codex runs' });
  }
  try {
    const health = await new LedgerClient(peers).health();
    // An account that does not exist: 404 (no bill) means Ledger took the token.
    const probe = await new LedgerClient(peers).billing('0', 2000, 1).catch((err: Error) => err);
    if (probe instanceof Error) throw probe;
    out.push({ status: 'OK', area: 'Ledger', message: `${config.ledgerUrl} answers with our token (health: ${JSON.stringify(health)?.slice(0, 60)})` });
  } catch (err) {
    out.push({ status: 'FAIL', area: 'Ledger', message: `${config.ledgerUrl}: ${(err as Error).message}`, action: 'check LEDGER_URL and LEDGER_TOKEN (or SERVICE_TOKEN), and that Ledger runs' });
  }
  return out;
}

const ago = (seconds: number) =>
  seconds < 120 ? `${Math.round(seconds)} s` : seconds < 7200 ? `${Math.round(seconds / 60)} min` : seconds < 172800 ? `${Math.round(seconds / 3600)} h` : `${Math.round(seconds / 86400)} days`;

export interface DoctorOptions {
  cwd?: string;
  now?: Date;
  /** Skip Ledger and Codex (for a host that cannot reach them yet). */
  peers?: boolean;
}

export async function runDoctor(config: Config, opts: DoctorOptions = {}): Promise<Finding[]> {
  const now = opts.now ?? new Date();
  const out: Finding[] = [...tokenFindings(config), ...fileFindings(config, opts.cwd ?? process.cwd())];
  let db: Database | undefined;
  try {
    if (!config.databaseUrl) {
      const holder = lockHolder(config.dataDir);
      if (holder) {
        out.push({ status: 'OK', area: 'database', message: `the embedded database in ${config.dataDir} is in use by the server (process ${holder.pid}); its checks run there: GET /metrics` });
        return out;
      }
    }
    db = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolMax: 3, statementTimeoutMs: 30_000 });
    await db.knex.raw('SELECT 1');
    out.push({ status: 'OK', area: 'database', message: `${db.location} answers` });
  } catch (err) {
    out.push({
      status: 'FAIL',
      area: 'database',
      message: `${config.databaseUrl ? 'PostgreSQL' : 'the embedded database'} cannot be reached: ${describeDbError(err)}`,
      action: 'systemctl status postgresql; check DATABASE_URL',
    });
    await db?.close();
    return out;
  }
  try {
    const pending = await pendingMigrations(db.knex);
    if (pending.length) {
      out.push({ status: 'FAIL', area: 'schema', message: `${pending.length} migration${pending.length === 1 ? '' : 's'} pending: ${pending.join(', ')}`, action: 'archive init-db --migrate-only' });
      return out;
    }
    out.push({ status: 'OK', area: 'schema', message: 'migrated to the latest version' });
    out.push(...(await triggerFindings(db.knex)), ...(await partitionFindings(db.knex, now)));
    const s = await opsState(db.knex, { serverTz: config.timeZone, dataDir: config.dataDir, backupDir: config.ops.backupDir, now });
    if (s.database.up) {
      const t = s.database.tables;
      out.push({
        status: 'OK',
        area: 'database',
        message: `${mb(s.database.bytes)} in all; billing_snapshots ${mb(Number(t.billing_snapshots ?? 0))}, snapshot_line_items ${mb(Number(t.snapshot_line_items ?? 0))}; ${s.bills!.archived} bills (${s.bills!.corrections} corrections)`,
      });
    }
    const sch = s.schedule;
    if (sch) {
      if (sch.error) out.push({ status: 'FAIL', area: 'schedule', message: sch.error, action: 'POST /api/scheduler/config with a valid timezone' });
      else if (!sch.enabled)
        out.push({
          status: 'WARN',
          area: 'schedule',
          message: 'the schedule is disabled: no run starts by itself',
          action: 'enable it in the desktop app (Schedule) or POST /api/scheduler/config {"enabled": true}',
        });
      else if (sch.overdue_seconds > 3600)
        out.push({
          status: 'FAIL',
          area: 'schedule',
          message: `a scheduled run was due ${ago(sch.overdue_seconds)} ago and has not started`,
          action: 'systemctl status archive archive-snapshot.timer; archive scheduled-snapshots',
        });
      else out.push({ status: 'OK', area: 'schedule', message: `enabled; next run ${sch.next_run_at}` });
    }
    const last = s.runs?.latest;
    if (!last) out.push({ status: 'WARN', area: 'runs', message: 'no real run yet', action: 'archive test-workflow --account A --year Y --month M, then a run from the desktop app' });
    else if (['failed', 'partial', 'interrupted', 'cancelled'].includes(last.status))
      out.push({
        status: 'WARN',
        area: 'runs',
        message: `the latest run (${last.period}, job ${last.id}) is ${last.status}: ${last.outcomes.failed} companies failed`,
        action: `archive scheduled-snapshots --resume ${last.id}`,
      });
    else out.push({ status: 'OK', area: 'runs', message: `the latest run (${last.period}) is ${last.status}: ${last.outcomes.archived} archived, ${last.outcomes.failed} failed` });
    const i = s.integrity;
    if (i) {
      if (i.lag_seconds > 60)
        out.push({
          status: 'WARN',
          area: 'integrity',
          message: `${i.queued} leaves wait for the log, the oldest for ${ago(i.lag_seconds)}`,
          action: 'is the server running? journalctl -u archive | grep sequencer',
        });
      else
        out.push({
          status: 'OK',
          area: 'integrity',
          message:
            i.checkpoint_size === null
              ? 'no checkpoint yet (the first bill makes one)'
              : `latest checkpoint size ${i.checkpoint_size}, signed ${ago(i.checkpoint_age_seconds ?? 0)} ago; ${i.queued} queued`,
        });
    }
    if (!s.verify) out.push({ status: 'WARN', area: 'integrity', message: 'archive verify has never run', action: 'archive verify; systemd/archive-verify.timer runs it weekly' });
    else if (!s.verify.ok)
      out.push({
        status: 'FAIL',
        area: 'integrity',
        message: `the last archive verify (${s.verify.at.toISOString()}) found stored data that no longer matches the log`,
        action: 'archive verify names each bill; treat it as an incident',
      });
    else {
      const age = (now.getTime() - s.verify.at.getTime()) / 1000;
      out.push(
        age > 8 * 86400
          ? {
              status: 'WARN',
              area: 'integrity',
              message: `the last archive verify passed ${ago(age)} ago`,
              action: 'archive verify; is archive-verify.timer enabled? (systemctl list-timers archive-verify.timer)',
            }
          : { status: 'OK', area: 'integrity', message: `the last archive verify passed ${ago(age)} ago` },
      );
    }
    if (opts.peers !== false) out.push(...(await peerFindings(config)));
    out.push(...backupFindings(s, now));
    out.push(...diskFindings(s));
  } finally {
    await db.close();
  }
  return out;
}

function backupFindings(s: Awaited<ReturnType<typeof opsState>>, now: Date): Finding[] {
  const b = s.backup;
  if (!b) return [{ status: 'WARN', area: 'backups', message: 'no backup yet', action: 'archive backup --check; systemctl enable --now archive-backup.timer' }];
  const age = (now.getTime() - Date.parse(b.manifest.created_at)) / 1000;
  const out: Finding[] = [];
  out.push(
    age > 7 * 86400
      ? { status: 'FAIL', area: 'backups', message: `the latest backup is ${ago(age)} old (${b.manifest.file})`, action: 'systemctl status archive-backup.timer; journalctl -u archive-backup' }
      : age > 26 * 3600
        ? { status: 'WARN', area: 'backups', message: `the latest backup is ${ago(age)} old (${b.manifest.file})`, action: 'systemctl status archive-backup.timer' }
        : { status: 'OK', area: 'backups', message: `the latest backup is ${ago(age)} old (${b.manifest.file}, ${mb(b.manifest.bytes)})` },
  );
  if (!b.check) out.push({ status: 'WARN', area: 'backups', message: 'the latest backup was never restored', action: `archive restore --check ${b.manifest.file} (where the age identity is)` });
  else if (!b.check.ok)
    out.push({
      status: 'FAIL',
      area: 'backups',
      message: `the latest backup failed its restore check: ${b.check.results
        .filter((r) => !r.ok)
        .map((r) => `${r.check}: ${r.detail}`)
        .join('; ')}`,
      action: 'make a new backup: archive backup --check',
    });
  else out.push({ status: 'OK', area: 'backups', message: `the latest backup restored and verified (${b.check.checked_at})` });
  return out;
}

function diskFindings(s: Awaited<ReturnType<typeof opsState>>): Finding[] {
  return s.disk.map((d) => {
    const free = d.free_bytes / d.size_bytes;
    const msg = `${d.role} folder ${d.path}: ${mb(d.free_bytes)} free of ${mb(d.size_bytes)} (${Math.round(free * 100)}%)`;
    if (free < 0.05) return { status: 'FAIL', area: 'disk', message: msg, action: 'free space now: lower BACKUP_RETENTION_DAYS, move BACKUP_DIR, grow the volume' };
    if (free < 0.15) return { status: 'WARN', area: 'disk', message: msg, action: 'plan space: lower BACKUP_RETENTION_DAYS or grow the volume' };
    return { status: 'OK', area: 'disk', message: msg };
  });
}

/** 0 when all is OK, 1 with a warning, 2 with a failure. */
export const exitCodeOf = (findings: Finding[]) => (findings.some((f) => f.status === 'FAIL') ? 2 : findings.some((f) => f.status === 'WARN') ? 1 : 0);
