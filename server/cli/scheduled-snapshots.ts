/**
 * `archive scheduled-snapshots`: the guide's scheduled_snapshots.py, and what the systemd
 * timer runs. With a period it runs that period now; without one it does what the schedule
 * says is due (nothing when disabled or already done). Same engine and rules as the server.
 * Prints progress, a summary table (and the plan of a dry run); exits 1 unless the run
 * completed.
 */
import type { Config } from '../config';
import { openForCommand } from '../boot';
import { createRunEngine, type RunEngine, type RunRequestInput } from '../runs/engine';
import { lockHolder } from '../db/data-dir-lock';
import { ArchiveError } from '../errors';
import { createLogger } from '../log';
import { listItems } from '../runs/job-items';
import { toJob, type JobRow } from '../runs/jobs';
import { dueRun, readSchedule } from '../schedule/schedule';
import { embeddedTokens } from '../tokens';
import { formatTable } from './table';
import { periodText } from '../../shared/period';

export interface ScheduledSnapshotsOptions {
  year?: number;
  month?: number;
  all: boolean;
  accounts?: string[];
  dryRun: boolean;
  resume?: string;
  concurrency?: number;
  /** Archive a month that has not ended: why (recorded on the job). */
  allowOpenPeriod?: string;
  /** Recorded as the job's trigger: `timer` when run without a period (systemd), `cli` otherwise. */
  triggeredBy?: string;
}

type Out = (line: string) => void;

export async function scheduledSnapshots(config: Config, opts: ScheduledSnapshotsOptions, out: Out = (l) => process.stdout.write(l + '\n'), now = new Date()): Promise<number> {
  if ((opts.year === undefined) !== (opts.month === undefined)) {
    out('archive scheduled-snapshots: give both --year and --month, or neither (then the schedule decides)');
    return 2;
  }
  if (opts.all && opts.accounts) {
    out('archive scheduled-snapshots: --all and --accounts cannot be combined');
    return 2;
  }
  // The timer beside a server on the embedded database: the server holds the database and
  // runs the schedule itself, so the timer has nothing to do (rather than failing every hour).
  const timerMode = opts.year === undefined && !opts.resume;
  const holder = !config.databaseUrl && timerMode ? lockHolder(config.dataDir) : null;
  if (holder && /^serve\b/.test(holder.command)) {
    out(
      `Nothing to do: the Archive server (process ${holder.pid}) has the embedded database in ${config.dataDir} and runs the schedule itself. ` +
        'The systemd timer is for servers on PostgreSQL (DATABASE_URL); with the embedded database it can stay disabled.',
    );
    return 0;
  }
  const serviceToken = config.serviceToken ?? (config.databaseUrl ? undefined : embeddedTokens(config).serviceToken);
  if (!serviceToken && !(config.codexToken && config.ledgerToken)) {
    out('archive scheduled-snapshots: set SERVICE_TOKEN (or CODEX_TOKEN and LEDGER_TOKEN) so Archive can call Ledger and Codex');
    return 2;
  }
  const log = createLogger(process.env.LOG_LEVEL ? config.logLevel : 'warn');
  const poolMax = Math.max(4, (opts.concurrency ?? config.runConcurrency) + 2);
  const db = await openForCommand(config, poolMax);
  let engine: RunEngine | undefined;
  try {
    engine = createRunEngine(config, db, log, serviceToken ?? '', () => now);
    await engine.recoverInterrupted();

    let started: JobRow;
    try {
      if (opts.resume) {
        started = await engine.resume(opts.resume, 'cli');
        out(`Resuming job ${started.id} (${period(started)})`);
      } else {
        const req = await request(db.knex, config, opts, now, out);
        if (!req) return 0;
        started = await engine.start(req);
        out(`${req.dryRun ? 'Dry run' : 'Run'} ${started.id}: ${period(started)}, ${req.accounts ? `accounts ${req.accounts.join(', ')}` : 'all companies'}`);
      }
    } catch (err) {
      if (err instanceof ArchiveError) {
        out(`✗ ${err.message}`);
        return 1;
      }
      throw err;
    }

    const stop = (signal: string) => {
      out(`\n${signal}: stopping; companies in flight finish, the rest stay to do. Resume with: archive scheduled-snapshots --resume ${started.id}`);
      void engine?.shutdown();
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    const progress = followProgress(engine, started.id, out);
    const end = toJob(await engine.wait(started.id));
    progress();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);

    const items = (await listItems(db.knex, end.id, { page: 1, per_page: 100_000 })).items;
    const shown = end.dry_run ? items : items.filter((i) => i.outcome !== 'archived' && i.outcome !== 'already_archived');
    if (shown.length) {
      out('');
      out(end.dry_run ? 'Plan (nothing was written):' : 'Companies that need a look:');
      out(
        formatTable(
          ['Account', 'Company', 'Outcome', 'Total', 'Lines', 'Note'],
          shown.map((i) => [
            i.account_number,
            (i.company_name ?? '').slice(0, 32),
            i.outcome ?? 'not done',
            i.total_amount ?? '',
            i.line_item_count === null ? '' : String(i.line_item_count),
            i.outcome === 'changed_since_archived'
              ? `Ledger now ${String(i.details?.ledger_total)} (archived ${String(i.details?.archived_total)}, difference ${String(i.details?.difference)})`
              : (i.error ?? (Array.isArray(i.details?.warnings) && i.details.warnings.length ? `${i.details.warnings.length} warning(s)` : '')).slice(0, 240),
          ]),
          [3, 4],
        ),
      );
    }
    const c = end.counts;
    out('');
    out(
      formatTable(
        ['Job', 'Period', 'Type', 'Status', 'Companies', 'Archived', end.dry_run ? 'Would archive' : 'Already', 'Changed', 'No bill', 'Skipped', 'Failed'],
        [
          [
            end.id,
            period(started),
            end.job_type,
            end.status,
            String(c.total),
            String(c.archived),
            String(end.dry_run ? c.would_archive : c.already_archived),
            String(c.changed_since_archived),
            String(c.no_bill),
            String(c.skipped),
            String(c.failed),
          ],
        ],
        [4, 5, 6, 7, 8, 9, 10],
      ),
    );
    if (end.codex_entries_without_account) out(`(${end.codex_entries_without_account} Codex entries without an account number were skipped)`);
    if (end.error) out(`${end.status}: ${end.error}`);
    return end.status === 'completed' ? 0 : 1;
  } finally {
    await engine?.shutdown();
    await db.close();
  }
}

async function request(knex: import('knex').Knex, config: Config, opts: ScheduledSnapshotsOptions, now: Date, out: Out): Promise<RunRequestInput | null> {
  if (opts.year !== undefined && opts.month !== undefined) {
    let accounts = opts.accounts;
    if (!opts.all && !accounts) {
      const row = await readSchedule(knex);
      if (!row.snapshot_all_companies) accounts = row.account_numbers;
    }
    return { year: opts.year, month: opts.month, accounts, dryRun: opts.dryRun, triggeredBy: opts.triggeredBy ?? 'cli', concurrency: opts.concurrency, allowOpenPeriod: opts.allowOpenPeriod };
  }
  const decision = await dueRun(knex, config.timeZone, now);
  if (!decision.due) {
    out(`Nothing to do: ${decision.reason}.`);
    return null;
  }
  out(`Scheduled run due at ${decision.at.toISOString()}: ${periodText(decision.period.year, decision.period.month)}`);
  return {
    ...decision.period,
    accounts: opts.accounts ?? decision.accounts,
    dryRun: opts.dryRun,
    triggeredBy: opts.triggeredBy ?? 'timer',
    concurrency: opts.concurrency,
    // A dry run does not use up the due time.
    scheduledFor: opts.dryRun ? undefined : decision.at,
    allowOpenPeriod: opts.allowOpenPeriod ?? decision.openPeriodReason,
  };
}

function period(job: { target_year: number; target_month: number }): string {
  return periodText(job.target_year, job.target_month);
}

/** One line per company for small runs; a progress line every few seconds for big ones. */
function followProgress(engine: RunEngine, jobId: string, out: Out): () => void {
  let lastLine = 0;
  const listener = (e: import('../../shared/runs').RunEvent) => {
    if (e.type !== 'item') return;
    const c = e.counts;
    if (c.total <= 60 || e.item.outcome === 'failed') {
      const what = e.item.outcome === 'failed' ? `failed: ${e.item.error}` : `${e.item.outcome}${e.item.total_amount ? ` ${e.item.total_amount}` : ''}`;
      out(`  [${c.done}/${c.total}] ${e.item.account_number} ${e.item.company_name ?? ''}: ${what}`);
    } else if (Date.now() - lastLine > 2000 || c.done === c.total) {
      lastLine = Date.now();
      out(
        `  ${c.done}/${c.total} done (${Math.round((100 * c.done) / Math.max(1, c.total))}%): ${c.archived} archived, ${c.would_archive} would archive, ${c.already_archived} already, ${c.failed} failed`,
      );
    }
  };
  engine.events.on(`job:${jobId}`, listener);
  return () => engine.events.off(`job:${jobId}`, listener);
}
