/**
 * A closed-loop load generator: N workers, each sending its next request when the last
 * returns, over one keep-alive undici Pool (much cheaper per request than fetch, so the
 * load generator takes less of the machine's two cores from the server and PostgreSQL).
 */
import fs from 'node:fs';
import { Pool } from 'undici';

export interface LoadRequest {
  kind: string;
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  expect: number[];
}

export interface LoadResult {
  seconds: number;
  byKind: Map<string, number[]>;
  errors: Map<string, number>;
  completed: number;
  /** CPU seconds the load generator itself used. */
  clientCpuSeconds: number;
}

export async function runLoad(opts: {
  baseUrl: string;
  concurrency: number;
  /** Next request, or undefined when there is no more work. */
  next: (worker: number) => LoadRequest | undefined;
  /** Stop after this many ms even with work left. */
  maxMs?: number;
}): Promise<LoadResult> {
  const pool = new Pool(opts.baseUrl, { connections: opts.concurrency, pipelining: 1 });
  const byKind = new Map<string, number[]>();
  const errors = new Map<string, number>();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const deadline = opts.maxMs ? started + opts.maxMs : Number.POSITIVE_INFINITY;
  let completed = 0;
  const worker = async (w: number) => {
    for (;;) {
      if (performance.now() >= deadline) return;
      const req = opts.next(w);
      if (!req) return;
      const t0 = performance.now();
      let status: number;
      try {
        const res = await pool.request({ path: req.path, method: req.method ?? 'GET', headers: req.headers, body: req.body });
        await res.body.dump({ limit: Number.MAX_SAFE_INTEGER });
        status = res.statusCode;
      } catch {
        status = -1;
      }
      const dt = performance.now() - t0;
      if (!req.expect.includes(status)) {
        const key = `${req.kind}: ${status}`;
        errors.set(key, (errors.get(key) ?? 0) + 1);
      }
      let list = byKind.get(req.kind);
      if (!list) byKind.set(req.kind, (list = []));
      list.push(dt);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, (_, i) => worker(i)));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await pool.close();
  return { seconds, byKind, errors, completed, clientCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** CPU seconds used so far by all PostgreSQL server processes on this machine. */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (!stat.slice(stat.indexOf('(') + 1, close).startsWith('postgres')) continue;
      const f = stat.slice(close + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}
