/** The benchmarks' databases and tokens: a fresh, migrated database per benchmark, dropped at the end. */
import { openDatabase, type Database } from '../../server/db/database';
import { migrateToLatest } from '../../server/db/migrate';
import { ensureDefaultSchedule } from '../../server/schedule/store';
import { adminQuery, databaseUrl } from '../../test/helpers/pg';

export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const SERVICE_TOKEN = 'bench-service-token-0123456789abcdef';
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdefgh';

const dbUrl = (name: string) => databaseUrl(name, ADMIN_URL);
const admin = (sql: string) => adminQuery(sql, ADMIN_URL);

/** Creates `name` afresh, migrated with the default schedule, as `archive init-db` leaves it. */
export async function freshBenchDatabase(name: string): Promise<{ url: string; db: Database; drop(): Promise<void> }> {
  await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${name}`);
  const url = dbUrl(name);
  const db = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', poolMax: 2 });
  await migrateToLatest(db.knex);
  await ensureDefaultSchedule(db.knex);
  return {
    url,
    db,
    drop: async () => {
      await db.close();
      if (!process.env.BENCH_KEEP) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
