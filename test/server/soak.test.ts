/**
 * A soak in the suite: 200 concurrent clients of mixed reads and writes (bench/lib/soak.ts)
 * for SOAK_SECONDS (15 here; `npm run bench -- soak` runs the issue's 60): zero errors. Prints
 * throughput and p99; asserts no speed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSoak } from '../../bench/lib/soak';
import { benchBill } from '../../bench/bills';
import { ADMIN_TOKEN, SERVICE_TOKEN, startTestServer, type TestServer } from '../helpers/server';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 15);
let server: TestServer;
const seeded: string[] = [];

beforeAll(async () => {
  server = await startTestServer({ DATABASE_POOL_MAX: '10' });
  for (let c = 0; c < 10; c++)
    for (let m = 1; m <= 6; m++) {
      const bill = benchBill(c, 2025, m) as { invoice_number: string };
      expect((await server.api('/api/snapshot', { method: 'POST', json: bill, token: SERVICE_TOKEN })).status).toBe(201);
      seeded.push(bill.invoice_number);
    }
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

describe('200 concurrent clients', () => {
  it(
    `read and write for ${SECONDS} s without a single error`,
    async () => {
      const r = await runSoak({ url: server.url, serviceToken: SERVICE_TOKEN, readToken: ADMIN_TOKEN, clients: 200, seconds: SECONDS, invoices: seeded, firstCompany: 1000 });
      console.log(
        `soak: ${r.load.completed} requests in ${r.load.seconds.toFixed(1)} s, ${r.requestsPerSecond} req/s, p99 ${Math.round(r.p99)} ms; ${r.byKind.map((k) => `${k.kind} ${k.count}`).join(', ')}`,
      );
      expect(Object.fromEntries(r.load.errors)).toEqual({});
      expect(r.byKind.find((k) => k.kind === 'POST bill')!.count).toBeGreaterThan(20);
    },
    (SECONDS + 60) * 1000,
  );
});
