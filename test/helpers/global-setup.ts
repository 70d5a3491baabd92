/**
 * Once per test run: a template database with every migration applied. Each test file
 * then gets a fresh copy of it (CREATE DATABASE ... TEMPLATE), which takes milliseconds.
 */
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../server/db/database';
import { migrateToLatest } from '../../server/db/migrate';
import { ensureDefaultSchedule } from '../../server/schedule/store';
import { adminQuery, databaseUrl } from './pg';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  const name = `archive_tpl_${process.pid}`;
  await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
  await adminQuery(`CREATE DATABASE ${name}`);
  const db = await openDatabase({ databaseUrl: databaseUrl(name), dataDir: '/nonexistent', poolMax: 1 });
  await migrateToLatest(db.knex);
  // As `archive init-db` leaves it: the default schedule row.
  await ensureDefaultSchedule(db.knex);
  await db.close();
  project.provide('templateDatabase', name);
  return async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  };
}
