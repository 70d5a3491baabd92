/**
 * `npm start -- --demo`: the server with the Ledger + Codex simulator and a year of archived
 * history, so a new user sees a living system in one command. Data goes to an embedded
 * database in ./data-demo, never to the real data folder nor to the database DATABASE_URL
 * names; it has tokens and a tamper-evident log of its own.
 */
import path from 'node:path';
import type { Config } from './config';
import { runServerProcess } from './main';
import { startSimulator } from './sim/server';
import { periodText } from '../shared/period';

export async function runDemo(config: Config, out: (l: string) => void = (l) => process.stdout.write(l + '\n')): Promise<void> {
  const sim = await startSimulator({ companies: 40, latencyMs: 5, seed: 'demo' });
  out(`Demo: Codex and Ledger simulated at ${sim.codexUrl} and ${sim.ledgerUrl} (40 companies)`);
  // The demo's bills are simulated: they go to its own embedded database in ./data-demo, never
  // to the configured one (archived rows can never be deleted) nor to the configured data folder,
  // with tokens of its own and a log of its own (its own key in its folder, this host's default
  // name: never a tree signed with the real key, nor under a name the real log was given).
  const demoConfig: Config = {
    ...config,
    databaseUrl: undefined,
    readDatabaseUrl: undefined,
    serviceToken: undefined,
    adminToken: undefined,
    codexUrl: sim.codexUrl,
    ledgerUrl: sim.ledgerUrl,
    dataDir: path.resolve('data-demo'),
    integrity: { ...config.integrity, keyFile: undefined, origin: undefined },
  };
  const ignored = [
    config.databaseUrl && 'DATABASE_URL',
    config.readDatabaseUrl && 'DATABASE_READ_URL',
    config.serviceToken && 'SERVICE_TOKEN',
    config.adminToken && 'ADMIN_TOKEN',
    process.env.ARCHIVE_DATA_DIR && 'ARCHIVE_DATA_DIR',
    config.integrity.keyFile && 'ARCHIVE_SIGNING_KEY_FILE',
    config.integrity.origin && 'ARCHIVE_LOG_ORIGIN',
  ].filter(Boolean);
  if (ignored.length)
    out(
      `Demo: ${ignored.join(', ')} ${ignored.length > 1 ? 'are' : 'is'} set but not used: the demo keeps its simulated bills in its own embedded database in ${demoConfig.dataDir}, with tokens and a log of its own`,
    );
  const running = await runServerProcess(demoConfig, { onClose: () => sim.close() });
  const [{ n }] = await running.db.knex('billing_snapshots').count({ n: '*' });
  if (Number(n) > 0) {
    out(`Demo: ${n} bills already archived in ${demoConfig.dataDir}`);
    return;
  }
  const now = new Date();
  out('Demo: archiving the last 12 months of bills (real runs through the simulator)...');
  for (let k = 12; k >= 1; k--) {
    const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - k, 1));
    const job = await running.engine.run({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, dryRun: false, triggeredBy: 'demo' });
    out(`  ${periodText(job.target_year, job.target_month)}: ${job.status}, ${job.archived_count} archived, ${job.no_bill_count} without a bill`);
  }
  const d = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  await running.engine.run({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, dryRun: true, triggeredBy: 'demo' });
  out(`Demo ready at ${running.url}: a year of history, and a dry run of this month waiting in the jobs list.`);
}
