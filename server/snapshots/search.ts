/**
 * Searching the archive; every filter maps to an index (see the first migration).
 * Each request is one round trip: the count and the page are subqueries of one statement
 * and the page comes back as one JSON value (money cast to text, so it stays exact).
 */
import type { Knex } from 'knex';
import type { CompanyHistory, SearchQuery, SearchResult, SnapshotSummary, Stats } from '../../shared/api';
import { ArchiveError, validationError } from '../errors';
import type { QueryBuilder } from 'objection';
import { IS_CURRENT, Snapshot } from '../models/Snapshot';
import { periodText } from '../../shared/period';

const SORT_COLUMNS: Record<SearchQuery['sort'], string[]> = {
  archived_at: ['archived_at'],
  period: ['billing_year', 'billing_month'],
  total_amount: ['total_amount'],
  company_name: ['company_name'],
  // Account numbers are digits of any length: shorter first, then by their digits, is their numeric order.
  company_account_number: ['length(company_account_number)', 'company_account_number'],
  invoice_number: ['length(invoice_number)', 'invoice_number'],
  invoice_date: ['invoice_date'],
};

/** The list-row columns, as SQL: never the big JSON, CSV or raw body. */
const SUMMARY_SELECT = [
  'id',
  'company_account_number',
  'company_name',
  'invoice_number',
  'billing_year',
  'billing_month',
  'invoice_date',
  'due_date',
  'billing_plan',
  'total_amount::text AS total_amount',
  'user_count',
  'asset_count',
  'line_item_count',
  'content_hash',
  'jsonb_array_length(warnings) > 0 AS has_warnings',
  'archived_at',
  'revision',
  `NOT ${IS_CURRENT('billing_snapshots')} AS superseded`,
].join(', ');

interface SummaryJson extends Omit<SnapshotSummary, 'archived_at'> {
  archived_at: string;
}

function toSummary(r: SummaryJson): SnapshotSummary {
  return { ...r, id: Number(r.id), archived_at: new Date(r.archived_at).toISOString() };
}

const FILTERS = ['account_number', 'invoice_number', 'company', 'year', 'month', 'from_period', 'to_period', 'min_total', 'max_total', 'archived_from', 'archived_to'] as const;

function checkRanges(p: SearchQuery): void {
  const fields = [];
  if (p.from_period && p.to_period && p.from_period > p.to_period) fields.push({ field: 'to_period', reason: 'must not be before from_period' });
  if (p.archived_from && p.archived_to && p.archived_from > p.archived_to) fields.push({ field: 'archived_to', reason: 'must not be before archived_from' });
  if (p.min_total && p.max_total && Number(p.min_total) > Number(p.max_total)) fields.push({ field: 'max_total', reason: 'must not be less than min_total' });
  if (fields.length) throw validationError(fields, 'search');
}

/** The exact number of archived bills, kept by a trigger (see the first migration): every revision, or each invoice's latest. */
const COUNTER = `(SELECT coalesce(sum(value), 0) FROM archive_counters WHERE name = 'billing_snapshots')`;
const CURRENT_COUNTER = `(SELECT coalesce(sum(CASE name WHEN 'corrections' THEN -value ELSE value END), 0) FROM archive_counters WHERE name IN ('billing_snapshots', 'corrections'))`;

/** Bills archived (every revision) and corrections among them, from the counters: no rows counted. */
export async function archivedCounts(knex: Knex): Promise<{ bills: number; corrections: number }> {
  const { rows } = await knex.raw(`SELECT ${COUNTER}::bigint AS bills, (SELECT coalesce(sum(value), 0) FROM archive_counters WHERE name = 'corrections')::bigint AS corrections`);
  return { bills: Number(rows[0].bills), corrections: Number(rows[0].corrections) };
}

/**
 * How far a filtered search counts at least (see countAndPage): past it the total is "1,000+".
 * Counting visits each matching row; at a million bills a common word of a company name
 * matches 100,000, and counting 10,000 of them from a cold cache took most of a second.
 */
export const COUNT_BOUND = 1_000;

/**
 * `SELECT (count) AS total, (page as JSON) AS results` for one filtered query.
 * `unfiltered` takes the total from the counter instead of counting every row.
 */
async function countAndPage(
  knex: Knex,
  filtered: () => QueryBuilder<Snapshot>,
  order: [string, 'asc' | 'desc'][],
  limit: number,
  offset: number,
  unfiltered: false | 'all' | 'current' = false,
): Promise<{ total: number; total_exact: boolean; results: SnapshotSummary[] }> {
  // A filter can match a large share of millions of bills (a common word of a company name):
  // such a count is bounded, one row past the bound says "more".
  const bound = Math.max(COUNT_BOUND, offset + limit);
  const count = unfiltered
    ? knex.raw(unfiltered === 'all' ? COUNTER : CURRENT_COUNTER)
    : knex.raw('SELECT count(*) FROM (?) bounded', [
        filtered()
          .clearSelect()
          .select(knex.raw('1'))
          .limit(bound + 1)
          .toKnexQuery(),
      ]);
  const pageQuery = filtered().select(knex.raw(SUMMARY_SELECT)).limit(limit).offset(offset);
  // Qualified: a bare name would sort by the output column (total_amount is sent as text, so it would sort alphabetically).
  for (const [col, dir] of order) {
    if (col.startsWith('length(')) pageQuery.orderByRaw(`length(billing_snapshots.${col.slice(7, -1)}) ${dir === 'asc' ? 'ASC' : 'DESC'}`);
    else pageQuery.orderBy(`billing_snapshots.${col}`, dir);
  }
  const page = pageQuery.toKnexQuery();
  const result = await knex.raw(`SELECT (?) AS total, (SELECT coalesce(json_agg(r), '[]'::json) FROM (?) r) AS results`, [count, page]);
  const row = result.rows[0] as { total: number | string; results: SummaryJson[] | string };
  const results = typeof row.results === 'string' ? (JSON.parse(row.results) as SummaryJson[]) : row.results;
  const n = Number(row.total);
  return { total: Math.min(n, unfiltered ? n : bound), total_exact: unfiltered !== false || n <= bound, results: results.map(toSummary) };
}

export async function searchSnapshots(knex: Knex, p: SearchQuery, defaultTimeZone: string): Promise<SearchResult> {
  checkRanges(p);
  const order: [string, 'asc' | 'desc'][] = [...SORT_COLUMNS[p.sort].map((c) => [c, p.order] as [string, 'asc' | 'desc']), ['id', p.order]];
  const unfiltered = FILTERS.every((f) => p[f] === undefined) && (p.include_superseded ? 'all' : 'current');
  const { total, total_exact, results } = await countAndPage(knex, () => Snapshot.query(knex).modify('searchFilters', p, defaultTimeZone), order, p.limit, p.offset, unfiltered);
  return { total, total_exact, limit: p.limit, offset: p.offset, results };
}

export async function companyHistory(knex: Knex, accountNumber: string, limit: number, offset: number): Promise<CompanyHistory> {
  const { total, total_exact, results } = await countAndPage(
    knex,
    () => Snapshot.query(knex).modify('ofCompany', accountNumber).whereRaw(IS_CURRENT('billing_snapshots')),
    [
      ['billing_year', 'desc'],
      ['billing_month', 'desc'],
    ],
    limit,
    offset,
  );
  if (total === 0) throw new ArchiveError('not_found', `No archived bills for company ${accountNumber}`, { account_number: accountNumber });
  // The name on the newest bill; fetched only when this page does not start with it.
  const companyName =
    offset === 0 && results.length > 0
      ? results[0].company_name
      : ((
          await knex('billing_snapshots')
            .select('company_name')
            .where('company_account_number', accountNumber)
            .orderBy([
              { column: 'billing_year', order: 'desc' },
              { column: 'billing_month', order: 'desc' },
            ])
            .first()
        )?.company_name ?? null);
  return { account_number: accountNumber, company_name: companyName, total, total_exact, limit, offset, results };
}

export async function archiveStats(knex: Knex): Promise<Stats> {
  const [y0, m0] = firstOfLast24Months();
  const result = await knex.raw(
    `SELECT ${CURRENT_COUNTER}::int AS snapshots,
            (SELECT count(DISTINCT company_account_number) FROM billing_snapshots)::int AS companies,
            (SELECT json_build_object('archived_at', archived_at, 'invoice_number', invoice_number)
               FROM billing_snapshots ORDER BY archived_at DESC, id DESC LIMIT 1) AS latest,
            (SELECT coalesce(json_agg(m ORDER BY billing_year, billing_month), '[]'::json) FROM (
               SELECT billing_year, billing_month, sum(total_amount)::numeric(30,2)::text AS total, count(*)::int AS snapshots
                 FROM billing_snapshots s WHERE (billing_year, billing_month) >= (?, ?) AND ${IS_CURRENT('s')}
                GROUP BY billing_year, billing_month) m) AS monthly`,
    [y0, m0],
  );
  const row = result.rows[0];
  const parse = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);
  const latest = parse<{ archived_at: string; invoice_number: string } | null>(row.latest);
  return {
    snapshots: row.snapshots,
    companies: row.companies,
    latest_archived_at: latest ? new Date(latest.archived_at).toISOString() : null,
    latest_invoice_number: latest?.invoice_number ?? null,
    monthly_totals: fillMonths(parse(row.monthly)),
  };
}

type MonthRow = { billing_year: number; billing_month: number; total: string; snapshots: number };

/** All 24 months, oldest first, with zero for a month nothing was archived for. */
function fillMonths(rows: MonthRow[]): Stats['monthly_totals'] {
  const byPeriod = new Map(rows.map((r) => [r.billing_year * 12 + r.billing_month - 1, r]));
  const [y0, m0] = firstOfLast24Months();
  const out: Stats['monthly_totals'] = [];
  for (let n = y0 * 12 + m0 - 1, i = 0; i < 24; i++, n++) {
    const r = byPeriod.get(n);
    out.push({ period: periodText(Math.floor(n / 12), (n % 12) + 1), total: r?.total ?? '0.00', snapshots: r?.snapshots ?? 0 });
  }
  return out;
}

/** The (year, month) 23 months before the current one: 24 months including this one. */
function firstOfLast24Months(now = new Date()): [number, number] {
  const n = now.getUTCFullYear() * 12 + now.getUTCMonth() - 23;
  return [Math.floor(n / 12), (n % 12) + 1];
}
