/** The PostgreSQL the tests run against: TEST_DATABASE_URL names an admin connection. */
import pg from 'pg';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of database `name` on the server of `admin` (the tests' by default; the benchmarks pass theirs). */
export function databaseUrl(name: string, admin = ADMIN_URL): string {
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function adminQuery(sql: string, admin = ADMIN_URL): Promise<void> {
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
