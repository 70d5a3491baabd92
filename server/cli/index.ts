/**
 * The `archive` command. Subcommands:
 *   serve                 run the server (what `npm start` does)
 *   init-db               test the database, migrate, create the default schedule
 *   scheduled-snapshots   run a period now, or what the schedule says is due (systemd timer)
 *   test-workflow         check a deployment end to end
 *   simulate              Codex and Ledger simulated, for demos and trials
 *   tokens                named tokens with a scope: create, list, revoke
 *   verify                check every bill, leaf and checkpoint of the tamper-evident log
 *   verify-bundle         check one bill's evidence bundle offline
 *   integrity key         print the log's verifier key
 *   doctor                check the installation, each finding OK / WARN / FAIL with what to do
 *   import-legacy         move the earlier Python Archive's bills in
 *   backup                back up the database with a manifest (encrypted, retention)
 *   restore               restore a backup (--check: into a scratch database, verified)
 *   partition-by-year     partition billing_snapshots by billing year (or --undo it)
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { StartupError } from '../startup-error';
import { ACCOUNT_NUMBER } from '../../shared/period';

/** Each command's help, as `archive <command> --help` prints it; `archive help` prints them all. */
const COMMANDS: Record<string, string> = {
  serve: `  serve [--demo]                Run the Archive server (default). Without DATABASE_URL it uses
                                an embedded PostgreSQL in ARCHIVE_DATA_DIR (./data).
                                --demo: with simulated Ledger and Codex and a year of history
                                (data in ./data-demo).
`,
  'init-db': `  init-db [--database-url URL]  Test the connection, run migrations, create the default schedule.
          [--migrate-only]      Only run pending migrations.
`,
  'scheduled-snapshots': `  scheduled-snapshots           Archive a month's bills from Ledger (the guide's scheduled_snapshots.py).
          [--year Y --month M]  The period; without it, run what the schedule says is due
                                (nothing when disabled or already done: the systemd timer's mode).
          [--all | --accounts a,b]  All Codex companies (default) or these accounts.
          [--dry-run]           Fetch and check everything, write nothing, print the plan.
          [--concurrency N]     Ledger calls at a time (default RUN_CONCURRENCY, 8).
          [--allow-open-period REASON]  Archive a month that has not ended yet (its bills are
                                provisional and kept for good); the reason is recorded on the job.
          [--resume JOB_ID]     Take up an interrupted, cancelled, partial or failed run.
                                Exit status 0 only when the run completed.
`,
  'test-workflow': `  test-workflow --account A --year Y --month M [--archive-url URL]
                                Check a deployment end to end, step by step.
`,
  simulate: `  simulate [--companies N] [--seed S] [--fixtures DIR|none] [--latency MS] [--error-rate R]
           [--codex-port 5010] [--ledger-port 5011] [--token T] [--host H]
                                Serve simulated Codex and Ledger (also \`npm run sim\`).
`,
  tokens: `  tokens create --name NAME --scope read|ingest|admin [--expires YYYY-MM-DD]
         list | revoke NAME     Named tokens: read (finance staff), ingest (Ledger), admin. A new
                                token is printed once; only its hash is kept.
`,
  verify: `  verify [--key VKEY] [--json]  Recompute every bill's hash, every leaf, the tree and every signed
                                checkpoint; name each bill that no longer matches. Exit 1 on any
                                finding. VKEY: the verifier key (or a file with it); default: the
                                signing key's own.
`,
  'verify-bundle': `  verify-bundle FILE --key VKEY Check a bill's evidence bundle offline, with the verifier key you
                                trust: the bill's hash, its leaf, the inclusion proof, the signature.
`,
  integrity: `  integrity key                 Print the log's verifier key, to publish and give auditors.
`,
  backup: `  backup [--check]              Back up the database (pg_dump, or the embedded data folder) with
                                a manifest into BACKUP_DIR, encrypted to BACKUP_AGE_RECIPIENTS;
                                removes backups older than BACKUP_RETENTION_DAYS (30).
                                --check: then restore --check it, where this host can open it.
`,
  restore: `  restore --check FILE          Restore a backup into a scratch database, run archive verify there
                                and compare with its manifest; the result is kept beside it.
  restore FILE                  Restore into the configured database, which must be empty.
          [--key VKEY] [--identity AGE_IDENTITY_FILE]
`,
  doctor: `  doctor [--json] [--no-peers]  Check the installation: configuration and tokens, the database,
                                its migrations and triggers, Ledger and Codex, the schedule and the
                                last run, the integrity log and the last verify, backups, disk.
                                Each line OK, WARN or FAIL with what to do; exit 0, 1 or 2.
`,
  'import-legacy': `  import-legacy --from URL      Move the earlier Python Archive's bills in: each checked by the rules
          [--dry-run]           of a post, archived in bulk, each refused row reported with the
          [--legacy-timezone TZ]  reason (two bills for one period: neither). A second run adds
          [--json]              nothing. TZ: the old server's zone (default ARCHIVE_TIMEZONE).
`,
  'partition-by-year': `  partition-by-year             Partition billing_snapshots by billing year (worth it from a few
          [--through YEAR]      million bills: README "At scale"), with the service stopped, in one
          [--undo] [--json]     transaction. YEAR: the last with a partition of its own (default next
                                year); run again later to add years. --undo: back to one table.
`,
  help: `  help                          This text.
`,
};

const USAGE = `Usage: archive <command> [options]   (archive <command> --help for one)

Commands:
${Object.values(COMMANDS).join('')}`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  // `archive <command> --help` (and `archive help <command>`): that command's options, nothing run.
  if (COMMANDS[command] && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(`Usage: archive <command> [options]\n\n${COMMANDS[command]}`);
    return 0;
  }
  if (command === 'help' && rest[0] && COMMANDS[rest[0]]) {
    process.stdout.write(`Usage: archive <command> [options]\n\n${COMMANDS[rest[0]]}`);
    return 0;
  }
  switch (command) {
    case 'serve': {
      const { values } = parseArgs({ args: rest, options: { demo: { type: 'boolean', default: false } }, strict: true });
      // Each command loads only its own modules: the timer's run never loads the HTTP server.
      if (values.demo) await (await import('../demo')).runDemo(loadConfig());
      else await (await import('../main')).runServerProcess(loadConfig());
      return -1; // keeps running
    }
    case 'scheduled-snapshots': {
      const { values } = parseArgs({
        args: rest,
        options: {
          year: { type: 'string' },
          month: { type: 'string' },
          all: { type: 'boolean', default: false },
          accounts: { type: 'string' },
          'dry-run': { type: 'boolean', default: false },
          concurrency: { type: 'string' },
          resume: { type: 'string' },
          'allow-open-period': { type: 'string' },
        },
        strict: true,
      });
      const int = (name: string, v: string | undefined, lo: number, hi: number) => {
        if (v === undefined) return undefined;
        const n = Number(v);
        if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} must be a whole number from ${lo} to ${hi} (got ${v})`);
        return n;
      };
      const accounts = values.accounts
        ?.split(',')
        .map((a) => a.trim())
        .filter(Boolean);
      if (accounts?.some((a) => !ACCOUNT_NUMBER.test(a))) throw new UsageError(`--accounts must be account numbers separated by commas (got ${values.accounts})`);
      const { scheduledSnapshots } = await import('./scheduled-snapshots');
      return scheduledSnapshots(loadConfig(), {
        year: int('year', values.year, 2000, 2100),
        month: int('month', values.month, 1, 12),
        all: values.all ?? false,
        accounts: accounts?.length ? accounts : undefined,
        dryRun: values['dry-run'] ?? false,
        concurrency: int('concurrency', values.concurrency, 1, 64),
        resume: values.resume,
        allowOpenPeriod: values['allow-open-period']?.trim() || undefined,
      });
    }
    case 'test-workflow': {
      const { values } = parseArgs({
        args: rest,
        options: { account: { type: 'string' }, year: { type: 'string' }, month: { type: 'string' }, 'archive-url': { type: 'string' } },
        strict: true,
      });
      if (!values.account || !/^\d+$/.test(values.account)) throw new UsageError('--account is required (an account number)');
      const year = Number(values.year);
      const month = Number(values.month);
      if (!Number.isInteger(year) || year < 2000 || year > 2100) throw new UsageError('--year is required (e.g. 2025)');
      if (!Number.isInteger(month) || month < 1 || month > 12) throw new UsageError('--month is required (1-12)');
      const { testWorkflow } = await import('./test-workflow');
      return testWorkflow(loadConfig(), { account: values.account, year, month, archiveUrl: values['archive-url'] });
    }
    case 'simulate': {
      const { values } = parseArgs({
        args: rest,
        options: {
          companies: { type: 'string', default: '50' },
          seed: { type: 'string', default: 'archive-sim' },
          fixtures: { type: 'string' },
          latency: { type: 'string', default: '0' },
          'error-rate': { type: 'string', default: '0' },
          'codex-port': { type: 'string', default: '5010' },
          'ledger-port': { type: 'string', default: '5011' },
          token: { type: 'string' },
          host: { type: 'string', default: '127.0.0.1' },
        },
        strict: true,
      });
      const { defaultFixturesDir, simulate } = await import('./simulate');
      const fixturesDir = values.fixtures === 'none' ? undefined : (values.fixtures ?? defaultFixturesDir());
      const close = await simulate({
        companies: Number(values.companies),
        seed: values.seed,
        fixturesDir,
        latencyMs: Number(values.latency),
        errorRate: Number(values['error-rate']),
        codexPort: Number(values['codex-port']),
        ledgerPort: Number(values['ledger-port']),
        token: values.token,
        host: values.host,
      });
      const stop = () => void close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return -1;
    }
    case 'tokens': {
      const [action, ...more] = rest;
      const { values, positionals } = parseArgs({
        args: more,
        options: { name: { type: 'string' }, scope: { type: 'string' }, expires: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
      if (action !== 'create' && action !== 'list' && action !== 'revoke') throw new UsageError('tokens needs create, list or revoke');
      if (action === 'create' && (!values.name || !values.scope)) throw new UsageError('tokens create needs --name and --scope (read, ingest or admin)');
      if (action === 'revoke' && positionals.length !== 1) throw new UsageError("tokens revoke needs the token's name");
      const { tokensCommand } = await import('./tokens');
      return tokensCommand(loadConfig(), { action, name: action === 'revoke' ? positionals[0] : values.name, scope: values.scope, expires: values.expires });
    }
    case 'verify': {
      const { values } = parseArgs({ args: rest, options: { key: { type: 'string' }, json: { type: 'boolean', default: false } }, strict: true });
      const { verifyCommand } = await import('./integrity');
      return verifyCommand(loadConfig(), { key: values.key, json: values.json });
    }
    case 'verify-bundle': {
      const { values, positionals } = parseArgs({ args: rest, options: { key: { type: 'string' } }, allowPositionals: true, strict: true });
      if (positionals.length !== 1 || !values.key) throw new UsageError('verify-bundle needs the bundle file and --key with the verifier key (or a file holding it)');
      const { verifyBundleCommand } = await import('./integrity');
      return verifyBundleCommand(positionals[0], values.key);
    }
    case 'integrity': {
      if (rest[0] !== 'key' || rest.length !== 1) throw new UsageError('integrity needs key: archive integrity key');
      const { integrityKeyCommand } = await import('./integrity');
      return integrityKeyCommand(loadConfig());
    }
    case 'doctor': {
      const { values } = parseArgs({ args: rest, options: { json: { type: 'boolean', default: false }, 'no-peers': { type: 'boolean', default: false } }, strict: true });
      const { doctorCommand } = await import('./doctor');
      return doctorCommand({ json: values.json, peers: !values['no-peers'] });
    }
    case 'import-legacy': {
      const { values } = parseArgs({
        args: rest,
        options: { from: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, 'legacy-timezone': { type: 'string' }, json: { type: 'boolean', default: false } },
        strict: true,
      });
      if (!values.from) throw new UsageError('import-legacy needs --from postgres://... (the old database)');
      const { importLegacyCommand } = await import('./import-legacy');
      return importLegacyCommand(loadConfig(), { from: values.from, dryRun: values['dry-run'], timeZone: values['legacy-timezone'], json: values.json });
    }
    case 'partition-by-year': {
      const { values } = parseArgs({ args: rest, options: { through: { type: 'string' }, undo: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } }, strict: true });
      if (values.through !== undefined && !/^\d{4}$/.test(values.through)) throw new UsageError(`--through ${values.through} must be a year such as 2036`);
      const { partitionCommand } = await import('./partition');
      return partitionCommand(loadConfig(), { through: values.through === undefined ? undefined : Number(values.through), undo: values.undo, json: values.json });
    }
    case 'backup': {
      const { values } = parseArgs({ args: rest, options: { check: { type: 'boolean', default: false }, key: { type: 'string' } }, strict: true });
      const { backupCommand } = await import('./backup');
      return backupCommand(loadConfig(), undefined, { check: values.check, key: values.key });
    }
    case 'restore': {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { check: { type: 'boolean', default: false }, key: { type: 'string' }, identity: { type: 'string' } },
        allowPositionals: true,
        strict: true,
      });
      if (positionals.length !== 1) throw new UsageError('restore needs the backup file: archive restore [--check] FILE');
      const { restoreCommand } = await import('./backup');
      return restoreCommand(loadConfig(), positionals[0], { check: values.check ?? false, key: values.key, identity: values.identity });
    }
    case 'init-db': {
      const { values } = parseArgs({
        args: rest,
        options: { 'database-url': { type: 'string' }, 'migrate-only': { type: 'boolean', default: false } },
        strict: true,
      });
      const { initDb } = await import('./init-db');
      return initDb({ databaseUrl: values['database-url'], migrateOnly: values['migrate-only'] ?? false, interactive: Boolean(process.stdin.isTTY) });
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`archive: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

class UsageError extends Error {}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof ConfigError || err instanceof StartupError) process.stderr.write(`archive: ${err.message}\n`);
    else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`archive: ${(err as Error).message}\n\n${USAGE}`);
      process.exit(2);
    } else process.stderr.write(`archive: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
