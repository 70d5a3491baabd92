/** Running and inspecting migrations. */
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
