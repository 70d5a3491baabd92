/**
 * The soak: `clients` concurrent clients for `seconds` of mixed reads and writes against a
 * running server (issue "Operations": 200 clients, 60 s, zero errors). A write is a new bill
 * (201); reads are searches, a bill, its CSV, its inclusion proof, the checkpoint and the
 * statistics, of the bills archived before and during the soak. Shared by `npm run bench --
 * soak` and the suite's shorter soak test.
 */
import { benchBill } from '../bills';
import { runLoad, type LoadRequest, type LoadResult } from './load';
import { summarise } from './stats';

export interface SoakResult {
  load: LoadResult;
  requestsPerSecond: number;
  p99: number;
  byKind: { kind: string; count: number; p50: number; p99: number }[];
  errors: number;
}

export async function runSoak(opts: { url: string; serviceToken: string; readToken: string; clients: number; seconds: number; invoices: string[]; firstCompany: number }): Promise<SoakResult> {
  const invoices = [...opts.invoices];
  let company = opts.firstCompany;
  let month = 0;
  let n = 0;
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });
  // A bill read is one archived already: the newest few hundred may still be in flight.
  const pick = () => invoices[Math.floor(Math.random() * Math.max(opts.invoices.length, invoices.length - 4 * opts.clients))];
  const next = (): LoadRequest => {
    const i = n++ % 20;
    if (i < 3) {
      // A new bill: companies from firstCompany on, twelve months each.
      if (month === 12) {
        month = 0;
        company++;
      }
      const bill = benchBill(company, 2024, ++month) as { invoice_number: string };
      invoices.push(bill.invoice_number);
      return { kind: 'POST bill', path: '/api/snapshot', method: 'POST', headers: { ...auth(opts.serviceToken), 'Content-Type': 'application/json' }, body: JSON.stringify(bill), expect: [201] };
    }
    if (i < 9) {
      const q = ['?limit=50', '?year=2025&month=3', `?company=${encodeURIComponent('Fischer')}`, '?min_total=100&sort=total_amount&order=desc', '?from_period=2025-01&to_period=2025-06'][i % 5];
      return { kind: 'search', path: `/api/snapshots/search${q}`, headers: auth(opts.readToken), expect: [200] };
    }
    if (i < 14) return { kind: 'GET bill', path: `/api/snapshot/${encodeURIComponent(pick())}`, headers: auth(opts.readToken), expect: [200] };
    if (i < 16) return { kind: 'GET csv', path: `/api/snapshot/${encodeURIComponent(pick())}/csv`, headers: auth(opts.readToken), expect: [200] };
    if (i < 18) return { kind: 'GET checkpoint', path: '/api/integrity/checkpoint', headers: auth(opts.readToken), expect: [200] };
    return { kind: 'GET stats', path: '/api/stats', headers: auth(opts.readToken), expect: [200] };
  };
  const load = await runLoad({ baseUrl: opts.url, concurrency: opts.clients, next, maxMs: opts.seconds * 1000 });
  const all = [...load.byKind.values()].flat();
  return {
    load,
    requestsPerSecond: Math.round(load.completed / load.seconds),
    p99: summarise(all).p99,
    byKind: [...load.byKind.entries()].map(([kind, xs]) => ({ kind, count: xs.length, p50: summarise(xs).p50, p99: summarise(xs).p99 })),
    errors: [...load.errors.values()].reduce((a, b) => a + b, 0),
  };
}
