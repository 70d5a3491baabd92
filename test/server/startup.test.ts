/** Starting the server: what it refuses, and what /health says when the database is gone. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config';
import { createLogger } from '../../server/log';
import { startServer } from '../../server/main';
import { StartupError } from '../../server/startup-error';
import { initDb } from '../../server/cli/init-db';
import { redactUrl } from '../../server/db/database';
import { adminQuery, databaseUrl } from '../helpers/pg';
import { startTestServer, testConfig, type TestServer } from '../helpers/server';

const quiet = { log: createLogger('silent'), quiet: true };
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

describe('configuration', () => {
  it('reads .env-style values and validates them, naming the variable', () => {
    expect(() => loadConfig({ SERVICE_PORT: 'eighty' }, '/nonexistent')).toThrow(ConfigError);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' }, '/nonexistent')).toThrow(/DATABASE_URL: must be a postgres:\/\/ URL/);
    const c = loadConfig({}, '/nonexistent');
    expect(c).toMatchObject({ port: 5012, host: '127.0.0.1', totalsTolerance: '0.05', poolMax: 10 });
  });

  it('with DATABASE_URL refuses to start without both tokens', async () => {
    const config = testConfig({ DATABASE_URL: databaseUrl('postgres') });
    await expect(startServer({ ...config, adminToken: undefined }, quiet)).rejects.toThrow(/ADMIN_TOKEN is not set/);
    await expect(startServer({ ...config, serviceToken: 'short' }, quiet)).rejects.toThrow(/SERVICE_TOKEN is shorter than 24 characters/);
  });

  it('with DATABASE_URL refuses an unmigrated database and says what to run', async () => {
    const name = `archive_empty_${process.pid}`;
    await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
    await adminQuery(`CREATE DATABASE ${name}`);
    cleanup.push(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    const err = await startServer(testConfig({ DATABASE_URL: databaseUrl(name) }), quiet).catch((e) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect(err.message).toMatch(/not migrated \(\d+ pending.*npm run init-db/);
  });

  it('explains a database that does not exist', async () => {
    const err = await startServer(testConfig({ DATABASE_URL: databaseUrl('no_such_archive_db') }), quiet).catch((e) => e);
    expect(err.message).toMatch(/database "no_such_archive_db" does not exist: create it first/);
  });
});

describe('a database URL in messages', () => {
  it('never shows its password, in the userinfo or as a query parameter', () => {
    expect(redactUrl('postgres://archive_user:s3cret@db.example.com:5432/archive_db')).toBe('postgres://archive_user:***@db.example.com:5432/archive_db');
    expect(redactUrl('postgres://archive_user@db.example.com/archive_db?password=s3cret&sslmode=require&sslpassword=k3y')).toBe(
      'postgres://archive_user@db.example.com/archive_db?password=***&sslmode=require&sslpassword=***',
    );
    expect(redactUrl('not a url')).toBe('postgres://(unparseable URL)');
  });
});

describe('archive init-db', () => {
  it('migrates a new database, creates the default schedule, and is idempotent', async () => {
    const name = `archive_init_${process.pid}`;
    await adminQuery(`DROP DATABASE IF EXISTS ${name}`);
    await adminQuery(`CREATE DATABASE ${name}`);
    cleanup.push(() => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    const lines: string[] = [];
    expect(await initDb({ databaseUrl: databaseUrl(name), migrateOnly: false, interactive: false }, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(
      /Connected[\s\S]*Migrations applied[\s\S]*Default schedule created[\s\S]*billing_snapshots, knex_migrations, knex_migrations_lock, log_checkpoints, log_leaves, log_nodes, log_queue, scheduled_snapshots, snapshot_job_items, snapshot_jobs, snapshot_line_items/,
    );
    const again: string[] = [];
    expect(await initDb({ databaseUrl: databaseUrl(name), migrateOnly: false, interactive: false }, (l) => again.push(l))).toBe(0);
    expect(again.join('\n')).toMatch(/Schema up to date[\s\S]*Schedule row already present/);

    const server = await startServer(testConfig({ DATABASE_URL: databaseUrl(name) }), quiet);
    cleanup.push(() => server.close());
    const schedule = await server.db.knex('scheduled_snapshots').first();
    expect(schedule).toMatchObject({ id: 1, enabled: true, day_of_month: '1', hour: 2, snapshot_previous_month: true, snapshot_all_companies: true });
  });

  it('says when nothing listens at the host', async () => {
    const lines: string[] = [];
    expect(await initDb({ databaseUrl: 'postgres://postgres@127.0.0.1:1/x', migrateOnly: true, interactive: false }, (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toMatch(/Cannot connect: nothing is listening at that host and port/);
  });

  it.each(['serve', 'init-db', 'scheduled-snapshots', 'test-workflow', 'simulate', 'tokens'])("archive %s --help prints that command's options and runs nothing", (command) => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/archive.mjs'), command, '--help'], {
      env: { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`  ${command} `);
    expect(r.stdout.split('\n').filter((l) => /^ {2}[a-z]/.test(l))).toHaveLength(1);
    expect(r.stderr).toBe('');
  });

  it('prints its diagnosis alone, without a stack trace before it (the real command)', () => {
    const r = spawnSync(process.execPath, [path.resolve(__dirname, '../../bin/archive.mjs'), 'init-db'], {
      env: { ...process.env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', LOG_LEVEL: 'info' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    const out = (r.stdout + r.stderr).trim().split('\n');
    expect(out).toEqual(['Database: postgres://postgres@127.0.0.1:1/x (postgres)', '✗ Cannot connect: nothing is listening at that host and port (is PostgreSQL running?)']);
  });

  it('says when the database is missing', async () => {
    const lines: string[] = [];
    expect(await initDb({ databaseUrl: databaseUrl('no_such_archive_db'), migrateOnly: true, interactive: false }, (l) => lines.push(l))).toBe(1);
    expect(lines.join('\n')).toMatch(/database "no_such_archive_db" does not exist/);
  });
});

describe('health when the database goes away', () => {
  let server: TestServer;
  it('answers 503 degraded, and errors on the API are JSON 503', async () => {
    server = await startTestServer();
    await adminQuery(`DROP DATABASE ${server.database.name} WITH (FORCE)`);
    const res = await server.api('/health', { token: null });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'degraded', service: 'archive' });
    const api = await server.api('/api/snapshots/search');
    expect(api.status).toBeGreaterThanOrEqual(500);
    const body = await api.json();
    expect(body.error).toEqual(expect.any(String));
    expect(JSON.stringify(body)).not.toMatch(/SELECT|billing_snapshots/);
    await server.close();
  });
});
