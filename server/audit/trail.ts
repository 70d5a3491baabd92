/**
 * The audit trail (table audit_log): this module owns it. An entry is hashed before it is
 * written (SHA-256 of its canonical JSON: what its leaf in the log records), so `archive
 * verify` can tell a rewritten entry. Writes that change the archive record their entry in the
 * same statement (`auditCte`, beside the bill's insert); the others right after the action.
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Knex } from 'knex';
import type { Query } from '../integrity/bill-batch';
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry, type AuditPage, type AuditQuery } from '../../shared/api';
import { canonicalJson } from '../../shared/canonical';
import { copyRows } from '../db/copy';

/** Who acts, as a request or a command knows it. */
export interface AuditContext {
  actor: string;
  requestId?: string | null;
  client?: string | null;
}

/** A command run on the host: `cli:<the system user>`. */
export function cliContext(): AuditContext {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return { actor: `cli:${user}`, client: 'localhost' };
}

export interface AuditInput extends AuditContext {
  action: AuditAction;
  subject?: string | null;
  period?: string | null;
  details?: Record<string, unknown>;
}

type Row = Omit<AuditEntry, 'id'>;

/** The entry as stored, and its hash: the canonical JSON of every column but the id. */
export function auditRow(input: AuditInput, at = new Date()): Row {
  if (!AUDIT_ACTIONS.includes(input.action)) throw new Error(`unknown audit action ${input.action}`);
  const row = {
    at: at.toISOString(),
    actor: input.actor,
    action: input.action,
    subject: input.subject ?? null,
    period: input.period ?? null,
    request_id: input.requestId ?? null,
    client: input.client ?? null,
    details: input.details ?? {},
  };
  return { ...row, entry_hash: auditHash(row) };
}

export function auditHash(row: Omit<Row, 'entry_hash'>): string {
  const { at, actor, action, subject, period, request_id, client, details } = row;
  return createHash('sha256')
    .update(canonicalJson({ v: 1, at: new Date(at).toISOString(), actor, action, subject, period, request_id, client, details }), 'utf8')
    .digest('hex');
}

const COLUMNS = ['at', 'actor', 'action', 'subject', 'period', 'request_id', 'client', 'details', 'entry_hash'] as const;

export async function recordAudit(knex: Knex, input: AuditInput): Promise<void> {
  const row = auditRow(input);
  await knex('audit_log').insert({ ...row, details: JSON.stringify(row.details) });
}

/** The latest entry of an action (`verify.run`: the last verify and whether it passed), if any. */
export async function latestAudit(knex: Knex, action: AuditAction): Promise<{ at: Date; details: Record<string, unknown> } | undefined> {
  const row = await knex('audit_log').where('action', action).orderBy('id', 'desc').first('at', 'details');
  return row ? { at: new Date(row.at), details: (row.details ?? {}) as Record<string, unknown> } : undefined;
}

/** Many entries at once, in the caller's transaction (an import's bills): by COPY. */
export async function recordAuditBatch(trx: Knex.Transaction, inputs: readonly AuditInput[]): Promise<void> {
  await copyRows(
    trx,
    'audit_log',
    COLUMNS,
    inputs.map((input) => {
      const row = auditRow(input);
      return COLUMNS.map((c) => row[c]);
    }),
  );
}

/** A data-modifying CTE that writes the entry with another statement, atomically with it. */
export function auditCte(input: AuditInput): { sql: string; bindings: Knex.RawBinding[] } {
  const row = auditRow(input);
  return {
    sql: `INSERT INTO audit_log (${COLUMNS.join(', ')}) VALUES (?::timestamptz, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)`,
    bindings: [row.at, row.actor, row.action, row.subject, row.period, row.request_id, row.client, JSON.stringify(row.details), row.entry_hash],
  };
}

const fromRow = (r: Record<string, unknown>): AuditEntry => ({
  id: Number(r.id),
  at: new Date(r.at as string).toISOString(),
  actor: r.actor as string,
  action: r.action as AuditAction,
  subject: (r.subject as string | null) ?? null,
  period: (r.period as string | null) ?? null,
  request_id: (r.request_id as string | null) ?? null,
  client: (r.client as string | null) ?? null,
  details: (r.details as Record<string, unknown>) ?? {},
  entry_hash: r.entry_hash as string,
});

export async function listAudit(knex: Knex, q: AuditQuery): Promise<AuditPage> {
  const filtered = knex('audit_log').modify((b) => {
    if (q.actor) b.where('actor', q.actor);
    if (q.action) b.where('action', q.action);
    if (q.invoice_number) b.where('subject', q.invoice_number);
    if (q.subject) b.where('subject', q.subject);
    if (q.period) b.where('period', q.period);
    if (q.from) b.where('at', '>=', q.from);
    if (q.to) b.where('at', '<=', q.to);
  });
  const [rows, count] = await Promise.all([
    filtered
      .clone()
      .select('*')
      .orderBy([
        { column: 'at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(q.limit)
      .offset(q.offset),
    filtered.clone().count({ n: '*' }).first(),
  ]);
  return { total: Number(count?.n ?? 0), limit: q.limit, offset: q.offset, entries: rows.map(fromRow) };
}

/** The entries from `after` on in id order, for `archive verify`. */
export async function auditBatch(query: Query, after: number, limit: number): Promise<(AuditEntry & { leaf_idx: number | null; leaf_data: Buffer | null; queued: boolean })[]> {
  const { rows } = await query(
    `SELECT a.*, l.idx AS leaf_idx, l.data AS leaf_data,
            (l.idx IS NULL AND EXISTS (SELECT 1 FROM log_queue q WHERE q.kind = 'audit' AND q.ref_id = a.id)) AS queued
       FROM audit_log a LEFT JOIN log_leaves l ON l.kind = 'audit' AND l.ref_id = a.id
      WHERE a.id > ? ORDER BY a.id LIMIT ?`,
    [after, limit],
  );
  return (rows as Record<string, unknown>[]).map((r) => ({
    ...fromRow(r),
    leaf_idx: r.leaf_idx === null ? null : Number(r.leaf_idx),
    leaf_data: r.leaf_data as Buffer | null,
    queued: r.queued as boolean,
  }));
}
