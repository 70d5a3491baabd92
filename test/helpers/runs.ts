/** A real Archive server wired to a running Ledger + Codex simulator, and helpers to watch runs. */
import type { StartOptions } from '../../server/main';
import { startSimulator, type SimOptions, type Simulator } from '../../server/sim/server';
import type { ArchiveClient, Init } from '../../shared/archive-client';
import type { Job } from '../../shared/runs';
import { FIXTURES } from './fixtures';
import { ADMIN_TOKEN, SERVICE_TOKEN, startTestServer, type TestServer } from './server';

export interface RunWorld {
  sim: Simulator;
  server: TestServer;
  admin(path: string, init?: Init): Promise<Response>;
  /** Starts a run through the API and waits for its end. */
  runToEnd(body: Parameters<ArchiveClient['startRun']>[0]): Promise<Job>;
  waitForEnd(jobId: string, timeoutMs?: number): Promise<Job>;
  stop(): Promise<void>;
}

export async function startRunWorld(simOpts: SimOptions = {}, env: Record<string, string> = {}, startOpts: StartOptions = {}): Promise<RunWorld> {
  const sim = await startSimulator({ token: SERVICE_TOKEN, companies: 20, ...simOpts });
  const server = await startTestServer({ CODEX_URL: sim.codexUrl, LEDGER_URL: sim.ledgerUrl, PEER_BACKOFF_MS: '5', PEER_TIMEOUT_MS: '2000', SCHEDULER: 'off', ...env }, startOpts);
  const admin: RunWorld['admin'] = (path, init = {}) => server.api(path, { ...init, token: ADMIN_TOKEN });
  const waitForEnd = async (jobId: string, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await server.admin.job(jobId, { per_page: 1 });
      if (!['running', 'pending'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return {
    sim,
    server,
    admin,
    waitForEnd,
    runToEnd: async (body) => waitForEnd((await server.admin.startRun(body)).job_id),
    stop: async () => {
      await server.stop();
      await sim.close();
    },
  };
}

/** Polls `check` until it holds (every 20 ms), or fails after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { FIXTURES };
