/** Running and inspecting migrations, and the default scheduler row. */
import type { Knex } from 'knex';
import { migrationSource } from '../../migrations/index';

const MIGRATION_CONFIG: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

/** Runs pending migrations; returns the names it ran. */
export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const [, ran] = (await knex.migrate.latest(MIGRATION_CONFIG)) as [number, string[]];
  return ran;
}

export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const [, pending] = (await knex.migrate.list(MIGRATION_CONFIG)) as [unknown[], { file?: string; name?: string }[] | string[][]];
  return pending.map((p) => (Array.isArray(p) ? p[0] : (p.name ?? p.file ?? String(p))));
}

/** The default schedule of the guide: enabled, day 1 at 02:00, previous month, all companies. */
export async function ensureDefaultSchedule(knex: Knex): Promise<boolean> {
  const inserted = await knex('scheduled_snapshots')
    .insert({ id: 1, enabled: true, day_of_month: '1', hour: 2, snapshot_previous_month: true, snapshot_all_companies: true })
    .onConflict('id')
    .ignore()
    .returning('id');
  return inserted.length > 0;
}
