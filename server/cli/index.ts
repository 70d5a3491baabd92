/**
 * The `archive` command. Subcommands:
 *   serve                 run the server (what `npm start` does)
 *   init-db               test the database, migrate, create the default schedule
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { runServerProcess, StartupError } from '../main';
import { initDb } from './init-db';

const USAGE = `Usage: archive <command> [options]

Commands:
  serve                         Run the Archive server (default). Without DATABASE_URL it uses
                                an embedded PostgreSQL in ARCHIVE_DATA_DIR (./data).
  init-db [--database-url URL]  Test the connection, run migrations, create the default schedule.
          [--migrate-only]      Only run pending migrations.
  help                          This text.
`;

async function main(argv: string[]): Promise<number> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve': {
      parseArgs({ args: rest, options: {}, strict: true });
      await runServerProcess(loadConfig());
      return -1; // keeps running
    }
    case 'init-db': {
      const { values } = parseArgs({
        args: rest,
        options: { 'database-url': { type: 'string' }, 'migrate-only': { type: 'boolean', default: false } },
        strict: true,
      });
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

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof ConfigError || err instanceof StartupError) process.stderr.write(`archive: ${err.message}\n`);
    else if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) process.stderr.write(`archive: ${(err as Error).message}\n\n${USAGE}`);
    else process.stderr.write(`archive: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
