/**
 * Benchmark of the Archive server (issue "Archive server"): ingest of 5,000 Ledger-shaped
 * bills at concurrency 8, then a search mix at 100,000 snapshots, against real PostgreSQL.
 * Prints figures; asserts nothing.
 *
 *   BENCH_DATABASE_URL   admin connection (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_COMPANIES=500 BENCH_MONTHS=10 BENCH_TARGET=100000 BENCH_SEARCH_SECONDS=30 BENCH_CONCURRENCY=8
 */
import os from 'node:os';
import { benchAccount, benchBill } from './bills';
import { ADMIN_TOKEN, freshBenchDatabase, SERVICE_TOKEN } from './lib/db';
import { postgresCpuSeconds, runLoad, type LoadRequest } from './lib/load';
import { startServerProcess, type ServerProcess } from './lib/server-process';
import { browserSearchLatency } from './lib/browser-search';
import { ms, summarise, table } from './lib/stats';
import { copyYardstick } from './lib/yardstick';
import { invoiceNumberFor } from '../shared/period';

const COMPANIES = Number(process.env.BENCH_COMPANIES ?? 500);
const MONTHS = Number(process.env.BENCH_MONTHS ?? 10);
const TARGET = Number(process.env.BENCH_TARGET ?? 100_000);
const SEARCH_SECONDS = Number(process.env.BENCH_SEARCH_SECONDS ?? 30);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
/** Periods ending with 2026-10, oldest first. */
function periods(n: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = n - 1; i >= 0; i--) {
    const k = 2026 * 12 + 9 - i;
    out.push([Math.floor(k / 12), (k % 12) + 1]);
  }
  return out;
}

const pct = (cpuSeconds: number, wallSeconds: number) => Math.round((100 * cpuSeconds) / wallSeconds);

async function main() {
  console.log(`Archive server benchmark — ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`);
  const database = await freshBenchDatabase('archive_bench');
  const db = database.db;

  const server = await startServerProcess({ DATABASE_URL: database.url, SERVICE_TOKEN, ADMIN_TOKEN, DATABASE_POOL_MAX: '10' });
  const auth = { Authorization: `Bearer ${SERVICE_TOKEN}` };

  // ---- ingest ----
  const ps = periods(MONTHS);
  const bodies: string[] = [];
  for (const [y, m] of ps) for (let c = 0; c < COMPANIES; c++) bodies.push(JSON.stringify(benchBill(c, y, m)));
  const avgKb = bodies.reduce((s, b) => s + b.length, 0) / bodies.length / 1024;
  console.log(`\nIngest: ${bodies.length} bills (${COMPANIES} companies x ${MONTHS} months, 25 line items, ${avgKb.toFixed(1)} KB per body), concurrency ${CONCURRENCY}`);
  let i = 0;
  const ingest = await measuredLoad(server, {
    baseUrl: server.url,
    concurrency: CONCURRENCY,
    next: () =>
      i < bodies.length ? { kind: 'POST /api/snapshot', path: '/api/snapshot', method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: bodies[i++], expect: [201] } : undefined,
  });
  const lat = summarise(ingest.byKind.get('POST /api/snapshot') ?? []);
  const stored = await db.knex('billing_snapshots').count('* as n').first();
  const storedLines = await db.knex('snapshot_line_items').count('* as n').first();
  console.log(
    table([
      ['bills/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'stored', 'line items', 'CPU% server', 'CPU% postgres', 'CPU% load', 'server RSS max MB'],
      [
        Math.round(ingest.completed / ingest.seconds),
        ms(lat.p50),
        ms(lat.p95),
        ms(lat.p99),
        ms(lat.max),
        ingest.errorCount,
        Number(stored!.n),
        Number(storedLines!.n),
        ingest.cpu.server,
        ingest.cpu.postgres,
        ingest.cpu.load,
        ingest.rssMaxMb,
      ],
    ]),
  );
  if (ingest.errors.size) console.log('errors:', Object.fromEntries(ingest.errors));

  // ---- the machine's yardstick: the same rows loaded with COPY in one transaction ----
  const copy = copyYardstick(database.url, Number(stored!.n));
  console.log(
    `\nYardstick: the same ${stored!.n} bills and their line items loaded with COPY in one transaction (psql): ${copy} bills/s (the issue measured about 1,800 on its machine; compare figures across machines by this ratio)`,
  );

  // ---- fill to TARGET with copies of the ingested bills (new accounts, same sizes) ----
  const base = Number(stored!.n);
  const generations = Math.ceil((TARGET - base) / base);
  const t0 = performance.now();
  for (let g = 1; g <= generations; g++) {
    await db.knex.transaction(async (trx) => {
      await trx.raw(
        `INSERT INTO billing_snapshots (company_account_number, company_name, invoice_number, billing_year, billing_month, invoice_date, due_date,
           billing_plan, contract_term, support_level, total_amount, total_user_charges, total_asset_charges, total_backup_charges,
           total_ticket_charges, total_line_item_charges, user_count, asset_count, billable_hours, billing_data_json, invoice_csv, raw_body,
           created_by, notes, line_item_count, content_hash, warnings, source, archived_at)
         SELECT (company_account_number::bigint + ?::int * 1000)::text, company_name || ' ' || ?::int,
           (company_account_number::bigint + ?::int * 1000)::text || '-' || billing_year || lpad(billing_month::text, 2, '0'),
           billing_year, billing_month, invoice_date, due_date, billing_plan, contract_term, support_level,
           total_amount + ?::int, total_user_charges + ?::int, total_asset_charges, total_backup_charges, total_ticket_charges, total_line_item_charges,
           user_count, asset_count, billable_hours, billing_data_json, invoice_csv, raw_body, created_by, notes, line_item_count,
           encode(sha256(convert_to(content_hash || ?::text, 'UTF8')), 'hex'), warnings, source, archived_at - make_interval(days => ?::int)
         FROM billing_snapshots WHERE id <= ?`,
        [g, g, g, g, g, g, g, base],
      );
      await trx.raw(
        `INSERT INTO snapshot_line_items (snapshot_id, position, line_type, item_name, description, quantity, rate, amount)
         SELECT n.id, li.position, li.line_type, li.item_name, li.description, li.quantity, li.rate,
                CASE WHEN li.position = 1 THEN li.amount + ?::int ELSE li.amount END
           FROM billing_snapshots o
           JOIN snapshot_line_items li ON li.snapshot_id = o.id
           JOIN billing_snapshots n ON n.invoice_number = (o.company_account_number::bigint + ?::int * 1000)::text || '-' || o.billing_year || lpad(o.billing_month::text, 2, '0')
          WHERE o.id <= ?`,
        [g, g, base],
      );
    });
  }
  await db.knex.raw('VACUUM ANALYZE billing_snapshots');
  await db.knex.raw('VACUUM ANALYZE snapshot_line_items');
  const total = Number((await db.knex('billing_snapshots').count('* as n').first())!.n);
  const size = (await db.knex.raw(`SELECT pg_size_pretty(pg_database_size(current_database())) AS s`)).rows[0].s;
  console.log(`\nFilled to ${total} snapshots by copying in SQL (${((performance.now() - t0) / 1000).toFixed(1)} s); database size ${size}`);

  // ---- search mix ----
  const accounts = Array.from({ length: generations + 1 }, (_, g) => Array.from({ length: COMPANIES }, (_, c) => String(Number(benchAccount(c)) + g * 1000))).flat();
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const invoice = () => {
    const [y, m] = ps[rand(ps.length)];
    return invoiceNumberFor(accounts[rand(accounts.length)], y, m);
  };
  const mix: (() => LoadRequest)[] = [
    () => ({ kind: 'search by account', path: `/api/snapshots/search?account_number=${accounts[rand(accounts.length)]}`, expect: [200] }),
    () => {
      const [y, m] = ps[rand(ps.length)];
      return { kind: 'search by year+month', path: `/api/snapshots/search?year=${y}&month=${m}&limit=100`, expect: [200] };
    },
    () => ({ kind: '20 most recent', path: `/api/snapshots/search?limit=20`, expect: [200] }),
    () => ({ kind: 'company history', path: `/api/snapshots/company/${accounts[rand(accounts.length)]}`, expect: [200] }),
    () => ({ kind: 'get by invoice', path: `/api/snapshot/${invoice()}`, expect: [200] }),
    () => ({ kind: 'CSV', path: `/api/snapshot/${invoice()}/csv`, expect: [200] }),
  ];
  let k = 0;
  console.log(`\nSearch mix at ${total} snapshots: ${mix.length} request kinds in turn, concurrency ${CONCURRENCY}, ${SEARCH_SECONDS} s`);
  const search = await measuredLoad(server, {
    baseUrl: server.url,
    concurrency: CONCURRENCY,
    maxMs: SEARCH_SECONDS * 1000,
    next: () => {
      const r = mix[k++ % mix.length]();
      return { ...r, headers: auth };
    },
  });
  const rows: (string | number)[][] = [['request', 'count', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms']];
  for (const [kind, l] of search.byKind) {
    const s = summarise(l);
    rows.push([kind, s.count, ms(s.p50), ms(s.p95), ms(s.p99), ms(s.max)]);
  }
  console.log(table(rows));
  console.log(
    `total: ${Math.round(search.completed / search.seconds)} req/s, errors ${search.errorCount}; ` +
      `CPU (100% = one core): server ${search.cpu.server}%, postgres ${search.cpu.postgres}%, load generator ${search.cpu.load}%; ` +
      `server RSS max ${search.rssMaxMb} MB`,
  );
  if (search.errors.size) console.log('errors:', Object.fromEntries(search.errors));

  // ---- the desktop app's search while typing, in Chromium, at this size ----
  const names = ['Harbor Legal', 'Quantum', 'Müller', 'Summit Engineering', 'Blue Ridge Clinic', 'Garden State', 'Évora', 'Acme Dental', 'Northwind Logistics', 'Søndergaard'];
  const typed = await browserSearchLatency(server.url, ADMIN_TOKEN, names);
  if (typed) {
    console.log(`\nDesktop app (Chromium, web bridge): typing a company name to the first matching row on screen, at ${total} snapshots, ${names.length} names`);
    console.log(
      table([
        ['p50 ms', 'p95 ms', 'max ms'],
        [ms(typed.summary.p50), ms(typed.summary.p95), ms(typed.summary.max)],
      ]),
    );
    console.log(names.map((n, i) => `${n} ${Math.round(typed.samples[i])} ms`).join(' · '));
    console.log('Target: within 300 ms (includes the 60 ms debounce).');
  } else console.log('\n(Chromium not installed: the browser search figure is skipped)');

  await server.stop();
  await database.drop();
}

/**
 * A load against the server, and what it cost: CPU (100% = one core) of the server, PostgreSQL
 * and the load generator, the server's largest resident memory, and the failed requests.
 */
async function measuredLoad(server: ServerProcess, opts: Parameters<typeof runLoad>[0]) {
  const stopRss = server.sampleRss();
  const cpu0 = server.cpuSeconds();
  const pg0 = postgresCpuSeconds();
  const load = await runLoad(opts);
  const cpu = { server: pct(server.cpuSeconds() - cpu0, load.seconds), postgres: pct(postgresCpuSeconds() - pg0, load.seconds), load: pct(load.clientCpuSeconds, load.seconds) };
  return { ...load, cpu, rssMaxMb: Math.round(Math.max(...stopRss())), errorCount: [...load.errors.values()].reduce((a, b) => a + b, 0) };
}

// Awaited, so `npm run bench` runs the benchmarks one after another, never side by side.
await main();
