/** A real Archive server on a free port over a fresh database, as Ledger and admins see it. */
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../server/config';
import { createLogger } from '../../server/log';
import { startServer, type RunningServer, type StartOptions } from '../../server/main';
import { ArchiveClient, type Init } from '../../shared/archive-client';
import { freshDatabase, type TestDatabase } from './db';

export const SERVICE_TOKEN = 'test-service-token-0123456789abcdef';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefgh';

export interface TestServer extends RunningServer {
  database: TestDatabase;
  /** The API client's raw call with the given token (service by default); `null` sends none. Resolves with refusals too. */
  api(path: string, init?: Init & { token?: string | null }): Promise<Response>;
  /** The typed API client with the admin token. */
  admin: ArchiveClient;
  stop(): Promise<void>;
}

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig(
    {
      SERVICE_PORT: '0',
      SERVICE_HOST: '127.0.0.1',
      SERVICE_TOKEN,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      ARCHIVE_TIMEZONE: 'UTC',
      // The log's signing key is made here once and shared by the tests' servers.
      ARCHIVE_DATA_DIR: path.join(os.tmpdir(), 'archive-test-data'),
      LOG_INTEGRATE_MS: '50',
      ...overrides,
    },
    '/nonexistent',
  );
}

export async function startTestServer(overrides: Record<string, string> = {}, opts: StartOptions = {}): Promise<TestServer> {
  const database = await freshDatabase();
  const running = await startServer(testConfig({ DATABASE_URL: database.url, ...overrides }), { log: createLogger('silent'), quiet: true, ...opts });
  const clients = new Map<string | null, ArchiveClient>();
  const clientOf = (token: string | null) => clients.get(token) ?? clients.set(token, new ArchiveClient(running.url, token ?? undefined)).get(token)!;
  const api: TestServer['api'] = (path, { token = SERVICE_TOKEN, ...init } = {}) => clientOf(token).send(path, init);
  return {
    ...running,
    database,
    api,
    admin: clientOf(ADMIN_TOKEN),
    stop: async () => {
      await running.close();
      await database.drop();
    },
  };
}
