/** An archived bill (`billing_snapshots`; rows are append-only: the database refuses UPDATE and DELETE), with the search filters as its modifiers. */
import { Model, type QueryBuilder } from 'objection';
import type { ArchivedFacts, BillFields, SearchQuery } from '../../shared/api';
import { zonedTime } from '../../shared/schedule';
import { LineItem } from './LineItem';

/**
 * SQL: the bill `alias` is its invoice's latest revision: no correction supersedes it. Said with
 * `supersedes_id IS NOT NULL` so it matches the partial index of the corrections alone
 * (migration 013): the superseding rows are read once from it, not looked up in the whole table.
 */
export const IS_CURRENT = (alias: string) => `NOT EXISTS (SELECT 1 FROM billing_snapshots sup WHERE sup.supersedes_id IS NOT NULL AND sup.supersedes_id = ${alias}.id)`;

/** The columns: the bill's own fields said once (shared/api.ts), and what archiving stores beside them. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- declares the row's columns for the class, nothing else
export interface Snapshot extends BillFields, Omit<ArchivedFacts, 'archived_at' | 'warnings'> {
  billing_data_json: Record<string, unknown>;
  raw_body: string | null;
  warnings: unknown[];
  archived_at: Date;
  lineItems?: LineItem[];
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class Snapshot extends Model {
  static override tableName = 'billing_snapshots';

  /** The search filters (each maps to an index: see the first migration), and a company's bills. */
  static override modifiers = {
    searchFilters,
    ofCompany(q: QueryBuilder<Snapshot>, accountNumber: string) {
      q.where('company_account_number', accountNumber);
    },
  };

  static override relationMappings = () => ({
    lineItems: {
      relation: Model.HasManyRelation,
      modelClass: LineItem,
      join: { from: 'billing_snapshots.id', to: 'snapshot_line_items.snapshot_id' },
    },
  });
}

function periodParts(period: string): [number, number] {
  const [y, m] = period.split('-').map(Number);
  return [y, m];
}

function searchFilters(q: QueryBuilder<Snapshot>, p: SearchQuery, defaultTimeZone: string): void {
  if (!p.include_superseded) q.whereRaw(IS_CURRENT('billing_snapshots'));
  if (p.account_number) q.where('company_account_number', p.account_number);
  if (p.invoice_number) q.where('invoice_number', p.invoice_number);
  if (p.company) q.whereRaw('lower(company_name) LIKE ?', [`%${escapeLike(p.company.toLowerCase())}%`]);
  if (p.year !== undefined) q.where('billing_year', p.year);
  if (p.month !== undefined) q.where('billing_month', p.month);
  // Periods compare as (year, month) rows so the period index serves them.
  if (p.from_period) q.whereRaw('(billing_year, billing_month) >= (?, ?)', periodParts(p.from_period));
  if (p.to_period) q.whereRaw('(billing_year, billing_month) <= (?, ?)', periodParts(p.to_period));
  if (p.min_total) q.where('total_amount', '>=', p.min_total);
  if (p.max_total) q.where('total_amount', '<=', p.max_total);
  // Whole days in the caller's time zone: [from 00:00, to + 1 day 00:00).
  // The instants are worked out here, with the same zone rules as everywhere else in Archive,
  // so PostgreSQL never has to know the zone (its list and JavaScript's differ at the edges).
  const tz = p.tz ?? defaultTimeZone;
  if (p.archived_from) q.where('archived_at', '>=', dayStartIn(p.archived_from, tz, 0));
  if (p.archived_to) q.where('archived_at', '<', dayStartIn(p.archived_to, tz, 1));
}

/** The instant a day (`YYYY-MM-DD`, plus `days`) begins in zone `tz`. */
function dayStartIn(date: string, tz: string, days: number): Date {
  const [y, m, d] = date.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d + days));
  return zonedTime(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 0, tz);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
