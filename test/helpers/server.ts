/** A real Archive server on a free port over a fresh database, as Ledger and admins see it. */
import { loadConfig, type Config } from '../../server/config';
import { createLogger } from '../../server/log';
import { startServer, type RunningServer, type StartOptions } from '../../server/main';
import { freshDatabase, type TestDatabase } from './db';

export const SERVICE_TOKEN = 'test-service-token-0123456789abcdef';
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefgh';

export interface TestServer extends RunningServer {
  database: TestDatabase;
  /** fetch with the given token (service by default); `null` sends none. */
  api(path: string, init?: RequestInit & { token?: string | null; json?: unknown }): Promise<Response>;
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
      ...overrides,
    },
    '/nonexistent',
  );
}

export async function startTestServer(overrides: Record<string, string> = {}, opts: StartOptions = {}): Promise<TestServer> {
  const database = await freshDatabase();
  const running = await startServer(testConfig({ DATABASE_URL: database.url, ...overrides }), { log: createLogger('silent'), quiet: true, ...opts });
  const api: TestServer['api'] = (path, init = {}) => {
    const { token = SERVICE_TOKEN, json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token !== null) headers.set('Authorization', `Bearer ${token}`);
    if (json !== undefined) headers.set('Content-Type', 'application/json');
    return fetch(running.url + path, { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  };
  return {
    ...running,
    database,
    api,
    stop: async () => {
      await running.close();
      await database.drop();
    },
  };
}
