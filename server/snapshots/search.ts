/** Searching the archive; every filter maps to an index (see the first migration). */
import type { CompanyHistory, SearchQuery, SearchResult, Stats } from '../../shared/api';
import { ApiError } from '../http/errors';
import { Snapshot } from '../models/Snapshot';
import { toSummary } from './read';

type QB = ReturnType<typeof Snapshot.query>;

const SORT_COLUMNS: Record<SearchQuery['sort'], string[]> = {
  archived_at: ['archived_at'],
  period: ['billing_year', 'billing_month'],
  total_amount: ['total_amount'],
  company_name: ['company_name'],
  company_account_number: ['company_account_number'],
  invoice_number: ['invoice_number'],
  invoice_date: ['invoice_date'],
};

function periodNumber(period: string): number {
  const [y, m] = period.split('-').map(Number);
  return y * 12 + (m - 1);
}

function applyFilters(q: QB, p: SearchQuery, defaultTimeZone: string): QB {
  if (p.account_number) q.where('company_account_number', p.account_number);
  if (p.invoice_number) q.where('invoice_number', p.invoice_number);
  if (p.company) q.whereRaw('lower(company_name) LIKE ?', [`%${escapeLike(p.company.toLowerCase())}%`]);
  if (p.year !== undefined) q.where('billing_year', p.year);
  if (p.month !== undefined) q.where('billing_month', p.month);
  // Periods compare as (year, month) rows so the period index serves them.
  if (p.from_period) {
    const n = periodNumber(p.from_period);
    q.whereRaw('(billing_year, billing_month) >= (?, ?)', [Math.floor(n / 12), (n % 12) + 1]);
  }
  if (p.to_period) {
    const n = periodNumber(p.to_period);
    q.whereRaw('(billing_year, billing_month) <= (?, ?)', [Math.floor(n / 12), (n % 12) + 1]);
  }
  if (p.min_total) q.where('total_amount', '>=', p.min_total);
  if (p.max_total) q.where('total_amount', '<=', p.max_total);
  // Whole days in the caller's time zone: [from 00:00, to + 1 day 00:00).
  const tz = p.tz ?? defaultTimeZone;
  if (p.archived_from) q.whereRaw(`archived_at >= (?::date)::timestamp AT TIME ZONE ?`, [p.archived_from, tz]);
  if (p.archived_to) q.whereRaw(`archived_at < ((?::date) + 1)::timestamp AT TIME ZONE ?`, [p.archived_to, tz]);
  return q;
}

function checkRanges(p: SearchQuery): void {
  const fields = [];
  if (p.from_period && p.to_period && p.from_period > p.to_period) fields.push({ field: 'to_period', reason: 'must not be before from_period' });
  if (p.archived_from && p.archived_to && p.archived_from > p.archived_to) fields.push({ field: 'archived_to', reason: 'must not be before archived_from' });
  if (p.min_total && p.max_total && Number(p.min_total) > Number(p.max_total)) fields.push({ field: 'max_total', reason: 'must not be less than min_total' });
  if (fields.length) {
    throw new ApiError('validation_failed', `Invalid search: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}`, { fields });
  }
}

export async function searchSnapshots(p: SearchQuery, defaultTimeZone: string): Promise<SearchResult> {
  checkRanges(p);
  const page = applyFilters(Snapshot.query().select(Snapshot.SUMMARY_COLUMNS), p, defaultTimeZone);
  for (const col of SORT_COLUMNS[p.sort]) page.orderBy(col, p.order);
  page.orderBy('id', p.order).limit(p.limit).offset(p.offset);
  const count = applyFilters(Snapshot.query(), p, defaultTimeZone).count('* as n').first() as unknown as Promise<{ n: number | string }>;
  const [rows, counted] = (await Promise.all([page, count])) as [Snapshot[], { n: number | string }];
  return { total: Number(counted.n), limit: p.limit, offset: p.offset, results: rows.map(toSummary) };
}

export async function companyHistory(accountNumber: string, limit: number, offset: number): Promise<CompanyHistory> {
  const [rows, counted, latest] = (await Promise.all([
    Snapshot.query()
      .select(Snapshot.SUMMARY_COLUMNS)
      .where('company_account_number', accountNumber)
      .orderBy([{ column: 'billing_year', order: 'desc' }, { column: 'billing_month', order: 'desc' }])
      .limit(limit)
      .offset(offset),
    Snapshot.query().where('company_account_number', accountNumber).count('* as n').first() as unknown as Promise<{ n: number | string }>,
    Snapshot.query()
      .select('company_name')
      .where('company_account_number', accountNumber)
      .orderBy([{ column: 'billing_year', order: 'desc' }, { column: 'billing_month', order: 'desc' }])
      .first(),
  ])) as [Snapshot[], { n: number | string }, Snapshot | undefined];
  const total = Number(counted.n);
  if (total === 0) throw new ApiError('not_found', `No archived bills for company ${accountNumber}`, { account_number: accountNumber });
  return { account_number: accountNumber, company_name: latest?.company_name ?? null, total, limit, offset, results: rows.map(toSummary) };
}

export async function archiveStats(): Promise<Stats> {
  const knex = Snapshot.knex();
  const [counts, latest, monthly] = await Promise.all([
    knex('billing_snapshots').select(knex.raw('count(*)::int AS snapshots'), knex.raw('count(DISTINCT company_account_number)::int AS companies')).first(),
    knex('billing_snapshots').select('archived_at', 'invoice_number').orderBy('archived_at', 'desc').orderBy('id', 'desc').first(),
    knex.raw(
      `SELECT billing_year, billing_month, sum(total_amount)::numeric(14,2)::text AS total, count(*)::int AS snapshots
         FROM billing_snapshots
        WHERE (billing_year, billing_month) >= (?, ?)
        GROUP BY billing_year, billing_month
        ORDER BY billing_year, billing_month`,
      firstOfLast24Months(),
    ),
  ]);
  return {
    snapshots: counts.snapshots,
    companies: counts.companies,
    latest_archived_at: latest ? new Date(latest.archived_at).toISOString() : null,
    latest_invoice_number: latest?.invoice_number ?? null,
    monthly_totals: fillMonths(monthly.rows as { billing_year: number; billing_month: number; total: string; snapshots: number }[]),
  };
}

/** All 24 months, oldest first, with zero for a month nothing was archived for. */
function fillMonths(rows: { billing_year: number; billing_month: number; total: string; snapshots: number }[]): Stats['monthly_totals'] {
  const byPeriod = new Map(rows.map((r) => [r.billing_year * 12 + r.billing_month - 1, r]));
  const [y0, m0] = firstOfLast24Months();
  const out: Stats['monthly_totals'] = [];
  for (let n = y0 * 12 + m0 - 1, i = 0; i < 24; i++, n++) {
    const r = byPeriod.get(n);
    out.push({ period: `${Math.floor(n / 12)}-${String((n % 12) + 1).padStart(2, '0')}`, total: r?.total ?? '0.00', snapshots: r?.snapshots ?? 0 });
  }
  return out;
}

/** The (year, month) 23 months before the current one: 24 months including this one. */
function firstOfLast24Months(now = new Date()): [number, number] {
  const n = now.getUTCFullYear() * 12 + now.getUTCMonth() - 23;
  return [Math.floor(n / 12), (n % 12) + 1];
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
