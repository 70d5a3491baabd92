/**
 * Named tokens from the command line: `archive tokens create | list | revoke`. A token is shown
 * once and works at once with its scope; the list never shows a secret; a revoked token stops
 * working; names are never reused; bad input is refused naming the option.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArchiveClient } from '../../shared/archive-client';
import { tokensCommand } from '../../server/cli/tokens';
import { startTestServer, testConfig, type TestServer } from '../helpers/server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SCHEDULER: 'off' });
});
afterAll(() => server?.stop());

const run = async (cmd: Parameters<typeof tokensCommand>[1]) => {
  const lines: string[] = [];
  const code = await tokensCommand(testConfig({ DATABASE_URL: server.database.url }), cmd, (l) => lines.push(l));
  return { code, out: lines.join('\n') };
};

describe('archive tokens', () => {
  it('creates a read token shown once, which reads but may not run anything, and lists it without its secret', async () => {
    const made = await run({ action: 'create', name: 'clerk.anna', scope: 'read', expires: '2099-12-31' });
    expect(made.code).toBe(0);
    const token = /^\s+(arc_\S+)$/m.exec(made.out)![1];
    const clerk = new ArchiveClient(server.url, token);
    expect((await clerk.search({})).total).toBeGreaterThanOrEqual(0);
    await expect(clerk.schedule()).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/clerk\.anna token may not do this; it needs the admin permission/) });
    const list = await run({ action: 'list' });
    expect(list.out).toMatch(/clerk\.anna\s+read\s+\S+\s+2099-12-31T23:59:59\.999Z\s+\S+\s+active/);
    expect(list.out).not.toContain(token);

    const revoked = await run({ action: 'revoke', name: 'clerk.anna' });
    expect(revoked.code).toBe(0);
    // A looked-up token is trusted for at most TOKEN_CACHE_MS (5 s): after that the revocation holds.
    const again = new ArchiveClient(server.url, token);
    await new Promise((r) => setTimeout(r, 5_100));
    await expect(again.search({})).rejects.toMatchObject({ status: 401 });
    expect((await run({ action: 'list' })).out).toMatch(/clerk\.anna\s+read[\s\S]*revoked/);
  }, 20_000);

  it('refuses bad names, scopes and dates naming the option, a reused name, and a second revocation', async () => {
    expect(await run({ action: 'create', name: 'Bad Name', scope: 'read' })).toMatchObject({ code: 2, out: expect.stringMatching(/--name must be 1-63 lower-case letters/) });
    expect(await run({ action: 'create', name: 'x', scope: 'root' })).toMatchObject({ code: 2, out: expect.stringMatching(/--scope must be read, ingest or admin/) });
    expect(await run({ action: 'create', name: 'x', scope: 'read', expires: '2020-01-01' })).toMatchObject({ code: 2, out: expect.stringMatching(/--expires must be a date in the future/) });
    expect(await run({ action: 'create', name: 'admin', scope: 'read' })).toMatchObject({ code: 2, out: expect.stringMatching(/built-in token/) });
    expect((await run({ action: 'create', name: 'ledger-2', scope: 'ingest' })).code).toBe(0);
    expect(await run({ action: 'create', name: 'ledger-2', scope: 'ingest' })).toMatchObject({ code: 1, out: expect.stringMatching(/names are never reused/) });
    expect((await run({ action: 'revoke', name: 'ledger-2' })).code).toBe(0);
    expect(await run({ action: 'revoke', name: 'ledger-2' })).toMatchObject({ code: 1, out: expect.stringMatching(/already revoked/) });
    expect(await run({ action: 'revoke', name: 'nobody' })).toMatchObject({ code: 1, out: expect.stringMatching(/No token named nobody/) });
  });
});
