/**
 * The API contract shared by the server and the desktop app: request and response
 * schemas with the types inferred from them. Browser-safe (no Node imports).
 */
import { z } from 'zod';
import { DECIMAL_TEXT } from './money';
import { ACCOUNT_NUMBER } from './period';

export const LINE_TYPES = ['user', 'asset', 'backup', 'ticket', 'custom'] as const;
export type LineType = (typeof LINE_TYPES)[number];

/**
 * Invoice numbers (Ledger's are `<account>-<YYYY><MM>`): 1 to 50 characters, letters, digits,
 * `.`, `_` and `-`, starting with a letter or digit, so every one is a safe path segment and
 * file name (never `.` or `..`).
 */
export const INVOICE_NUMBER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$/;
export const INVOICE_NUMBER_RULE = 'must be 1 to 50 letters, digits, ".", "_" or "-", starting with a letter or digit';
/** Largest value of a PostgreSQL integer column. */
export const INT_LIMIT = 2_147_483_647;

/** Largest magnitude numeric(12,2) holds. */
export const MONEY_LIMIT = 9_999_999_999.99;
/** Largest magnitude numeric(10,2) holds (quantities, billable hours). */
export const QUANTITY_LIMIT = 99_999_999.99;

const isoDate = z.string().refine(isValidIsoDate, { message: 'must be a date written YYYY-MM-DD' });

/** Money as Ledger sends it: a JSON number (an unrounded float) or a decimal string. */
const moneyIn = (limit = MONEY_LIMIT) =>
  z
    .union([z.number().refine(Number.isFinite, { message: 'must be a finite number' }), z.string().regex(DECIMAL_TEXT, { message: 'must be a decimal number' })])
    .refine((v) => Number.isNaN(Number(v)) || Math.abs(Number(v)) <= limit, { message: `must be at most ${limit} in magnitude` });

const optionalText = (max?: number) => {
  const s = max ? z.string().max(max, { message: `must be at most ${max} characters` }) : z.string();
  return s.nullish();
};

const count = z
  .number()
  .int({ message: 'must be a whole number' })
  .min(0, { message: 'must not be negative' })
  .max(INT_LIMIT, { message: `must be at most ${INT_LIMIT}` });

export const LineItemIn = z.object({
  line_type: z.enum(LINE_TYPES, { message: `must be one of ${LINE_TYPES.join(', ')}` }),
  item_name: z.string().max(255, { message: 'must be at most 255 characters' }),
  description: optionalText(),
  quantity: moneyIn(QUANTITY_LIMIT),
  rate: moneyIn(),
  amount: moneyIn(),
});
export type LineItemIn = z.infer<typeof LineItemIn>;

/** The body Ledger posts to `POST /api/snapshot` (docs/contract.md section 1). */
export const SnapshotPost = z.object({
  company_account_number: z.string().regex(ACCOUNT_NUMBER, { message: 'must be a string of 1 to 50 digits' }),
  billing_year: z.number().int({ message: 'must be a whole number' }).min(2000, { message: 'must be 2000 or later' }).max(2100, { message: 'must be 2100 or earlier' }),
  billing_month: z.number().int({ message: 'must be a whole number' }).min(1, { message: 'must be 1 to 12' }).max(12, { message: 'must be 1 to 12' }),
  invoice_number: z.string().regex(INVOICE_NUMBER, { message: INVOICE_NUMBER_RULE }),
  total_amount: moneyIn(),
  invoice_date: isoDate,
  billing_data_json: z.record(z.string(), z.unknown(), { message: 'must be a JSON object' }),
  invoice_csv: z.string({ message: 'must be a string holding the invoice CSV' }),
  company_name: optionalText(150),
  due_date: isoDate.nullish(),
  billing_plan: optionalText(100),
  contract_term: optionalText(50),
  support_level: optionalText(100),
  total_user_charges: moneyIn().nullish(),
  total_asset_charges: moneyIn().nullish(),
  total_backup_charges: moneyIn().nullish(),
  total_ticket_charges: moneyIn().nullish(),
  total_line_item_charges: moneyIn().nullish(),
  user_count: count.nullish(),
  asset_count: count.nullish(),
  billable_hours: moneyIn(QUANTITY_LIMIT).nullish(),
  created_by: optionalText(100),
  notes: optionalText(),
  line_items: z.array(LineItemIn, { message: 'must be an array of line items' }).max(100_000).default([]),
});
export type SnapshotPost = z.infer<typeof SnapshotPost>;

/** Fields money-normalised on the way in, in the order they appear on a bill. */
export const CATEGORY_TOTAL_FIELDS = ['total_user_charges', 'total_asset_charges', 'total_backup_charges', 'total_ticket_charges', 'total_line_item_charges'] as const;

export interface SnapshotWarning {
  code: 'line_items_total_mismatch' | 'category_totals_mismatch' | 'csv_total_mismatch' | 'csv_unreadable';
  message: string;
  expected?: string;
  actual?: string;
  difference?: string;
}

export interface SnapshotCreated {
  message: string;
  snapshot_id: number;
  invoice_number: string;
  content_hash: string;
  warnings: SnapshotWarning[];
}

/**
 * A bill's own fields as Archive stores them (the columns of `billing_snapshots` taken from the
 * post; money as exact decimal text): said once, for the stored row, the model, the hash and
 * the API's answers.
 */
export interface BillFields {
  company_account_number: string;
  company_name: string | null;
  invoice_number: string;
  billing_year: number;
  billing_month: number;
  invoice_date: string;
  due_date: string | null;
  billing_plan: string | null;
  contract_term: string | null;
  support_level: string | null;
  total_amount: string;
  total_user_charges: string | null;
  total_asset_charges: string | null;
  total_backup_charges: string | null;
  total_ticket_charges: string | null;
  total_line_item_charges: string | null;
  user_count: number | null;
  asset_count: number | null;
  billable_hours: string | null;
  created_by: string | null;
  notes: string | null;
  invoice_csv: string;
}

/** One line of a bill as stored and served (exact decimals), in Ledger's order. */
export interface BillLine {
  line_type: LineType;
  item_name: string;
  description: string | null;
  quantity: string;
  rate: string;
  amount: string;
}

/** What archiving adds to a bill. */
export interface ArchivedFacts {
  id: number;
  /** 1 for the bill as first archived; 2, 3, ... for each correction of it. */
  revision: number;
  line_item_count: number;
  content_hash: string;
  archived_at: string;
  source: string;
  warnings: SnapshotWarning[];
}

/** `GET /api/snapshot/:invoice`: the whole bill. */
export interface SnapshotDetail extends BillFields, ArchivedFacts {
  billing_data: Record<string, unknown>;
  line_items: BillLine[];
  /** What this revision corrects, why and who filed it; null for revision 1. */
  correction: Correction | null;
  /** The revision that corrects this one, when this one is not the latest. */
  superseded_by_revision: number | null;
  /** Every revision of the invoice, oldest first: the bill's history. */
  revisions: BillRevision[];
}

/** A correction's record: the revision it supersedes (and that one's content hash), the reason and who filed it. */
export interface Correction {
  supersedes_revision: number;
  supersedes_content_hash: string;
  reason: string;
  corrected_by: string;
}

/** One revision of an invoice, as its history lists it. */
export interface BillRevision {
  revision: number;
  archived_at: string;
  /** Who archived it: for a correction the token that filed it; for revision 1 what sent it (Ledger's post, a run). */
  archived_by: string;
  source: string;
  content_hash: string;
  total_amount: string;
  reason: string | null;
}

/** A row in search results and histories: never the big JSON or CSV columns. */
export type SnapshotSummary = Pick<
  SnapshotDetail,
  | 'id'
  | 'company_account_number'
  | 'company_name'
  | 'invoice_number'
  | 'billing_year'
  | 'billing_month'
  | 'invoice_date'
  | 'due_date'
  | 'billing_plan'
  | 'total_amount'
  | 'user_count'
  | 'asset_count'
  | 'line_item_count'
  | 'content_hash'
  | 'archived_at'
  | 'revision'
> & { has_warnings: boolean; superseded: boolean };

export const SORT_FIELDS = ['archived_at', 'period', 'total_amount', 'company_name', 'company_account_number', 'invoice_number', 'invoice_date'] as const;

const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { message: `must be from ${min} to ${max}` });
const queryMoney = z.string().regex(/^-?\d+(\.\d{1,2})?$/, { message: 'must be an amount such as 100 or 100.50' });
const queryPeriod = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, { message: 'must be a period written YYYY-MM' });

/** `GET /api/snapshots/search` query parameters; unknown ones are refused. */
export const SearchQuery = z.strictObject(
  {
    account_number: z.string().regex(ACCOUNT_NUMBER, { message: 'must be digits' }).optional(),
    company: z.string().min(1).max(150).optional(),
    invoice_number: z.string().min(1).max(50).optional(),
    year: queryInt(2000, 2100).optional(),
    month: queryInt(1, 12).optional(),
    from_period: queryPeriod.optional(),
    to_period: queryPeriod.optional(),
    min_total: queryMoney.optional(),
    max_total: queryMoney.optional(),
    archived_from: isoDate.optional(),
    archived_to: isoDate.optional(),
    tz: z.string().refine(isTimeZone, { message: 'must be an IANA time zone such as Europe/Berlin' }).optional(),
    sort: z.enum(SORT_FIELDS, { message: `must be one of ${SORT_FIELDS.join(', ')}` }).default('archived_at'),
    order: z.enum(['asc', 'desc'], { message: 'must be asc or desc' }).default('desc'),
    /** Every revision, not only each invoice's latest. */
    include_superseded: z
      .enum(['true', 'false'], { message: 'must be true or false' })
      .default('false')
      .transform((v) => v === 'true'),
    limit: queryInt(1, 1000).default(100),
    offset: queryInt(0, 10_000_000).default(0),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown parameter` : undefined) },
);
export type SearchQuery = z.infer<typeof SearchQuery>;

export const PageQuery = z.strictObject({
  limit: queryInt(1, 1000).default(100),
  offset: queryInt(0, 10_000_000).default(0),
});

/** `GET /api/snapshot/:invoice` (and its files): one revision, the latest by default. */
export const RevisionQuery = z.strictObject({ revision: queryInt(1, INT_LIMIT).optional() });

/** Where a correction's bill comes from: posted by the admin, or fetched again from Ledger. */
const CorrectionSource = z.strictObject({
  bill: z.unknown().optional(),
  from_ledger: z.literal(true, { message: 'must be true' }).optional(),
  /** The revision the admin looked at: refused if another correction came first. */
  supersedes_revision: z.number().int().min(1).max(INT_LIMIT).optional(),
});
const oneSource = (b: { bill?: unknown; from_ledger?: true }) => (b.bill === undefined) !== (b.from_ledger === undefined);
const ONE_SOURCE = { message: 'give the corrected bill (bill) or from_ledger: true, one of them', path: ['bill'] };

/** `POST /api/snapshot/:invoice/corrections/preview`: what a correction would change, line by line, without archiving. */
export const CorrectionPreviewPost = CorrectionSource.refine(oneSource, ONE_SOURCE);
export type CorrectionPreviewPost = z.infer<typeof CorrectionPreviewPost>;

/** `POST /api/snapshot/:invoice/corrections`: archive a correction (admin). */
export const CorrectionPost = CorrectionSource.extend({
  reason: z
    .string({ message: 'must say why the bill is corrected' })
    .trim()
    .min(3, { message: 'must say why the bill is corrected (at least 3 characters)' })
    .max(2000, { message: 'must be at most 2000 characters' })
    .refine((r) => !/[\u0000-\u0008\u000b-\u001f\u007f]/.test(r), { message: 'must be plain text (no control characters)' }),
  /** The proposed bill's content hash the admin saw in the preview: refused if Ledger's bill changed since. */
  expected_content_hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, { message: 'must be 64 hex digits' })
    .optional(),
}).refine(oneSource, ONE_SOURCE);
export type CorrectionPost = z.infer<typeof CorrectionPost>;

/** A line of a bill that a correction adds, removes or changes. */
export type LineChange =
  | { change: 'added'; position: number; proposed: BillLine }
  | { change: 'removed'; position: number; archived: BillLine }
  | { change: 'changed'; position: number; archived: BillLine; proposed: BillLine; fields: (keyof BillLine)[] };

/** How two revisions of a bill differ: its fields (money and text, as stored), its lines, its CSV and billing data. */
export interface BillDifferences {
  fields: { field: keyof BillFields; archived: string | null; proposed: string | null }[];
  lines: LineChange[];
  csv_changed: boolean;
  billing_data_changed: boolean;
}

export interface CorrectionPreview {
  invoice_number: string;
  /** The revision a correction would supersede. */
  current: { revision: number; content_hash: string; total_amount: string; line_item_count: number };
  proposed: { revision: number; content_hash: string; total_amount: string; line_item_count: number; warnings: SnapshotWarning[]; source: 'correction' | 'correction_ledger' };
  differences: BillDifferences;
}

export interface CorrectionCreated extends SnapshotCreated {
  revision: number;
  supersedes_revision: number;
}

/** `GET /api/integrity/inclusion`: a bill (by invoice) or a leaf (by index), at a signed tree size (the latest by default). */
export const InclusionQuery = z
  .strictObject({
    invoice_number: z.string().regex(INVOICE_NUMBER, { message: INVOICE_NUMBER_RULE }).optional(),
    /** With invoice_number: that revision (the latest by default). */
    revision: queryInt(1, INT_LIMIT).optional(),
    leaf_index: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    tree_size: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
  })
  .refine((q) => (q.invoice_number === undefined) !== (q.leaf_index === undefined), { message: 'give invoice_number or leaf_index, one of them', path: ['invoice_number'] });
export type InclusionQuery = z.infer<typeof InclusionQuery>;

/** `GET /api/integrity/consistency`: from one signed tree size to another (the latest by default). */
export const ConsistencyQuery = z.strictObject({
  from: queryInt(0, Number.MAX_SAFE_INTEGER),
  to: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
});
export type ConsistencyQuery = z.infer<typeof ConsistencyQuery>;

export interface SearchResult {
  /** The bills that match; counted up to a bound (see total_exact) so a broad search stays fast at millions of bills. */
  total: number;
  /** false: more than `total` match (counted up to max(1,000, offset + limit)); page on until a page comes back short. */
  total_exact: boolean;
  limit: number;
  offset: number;
  results: SnapshotSummary[];
}

export interface CompanyHistory extends SearchResult {
  account_number: string;
  company_name: string | null;
}

/** `POST /api/companies/check`: which of the accounts Codex knows (with their names), and which it does not. */
export interface AccountCheck {
  known: { account_number: string; name: string | null }[];
  unknown: string[];
}

/** `GET /api/about`: what a client shows beside the bills (the configured currency and zone). */
export interface About {
  service: 'archive';
  version: string;
  /** ISO 4217: every amount is in it (ARCHIVE_CURRENCY). */
  currency: string;
  /** The server's zone (ARCHIVE_TIMEZONE). */
  time_zone: string;
  /** The token that asked, and what it may do (`read`, `ingest`, `admin`). */
  token: { name: string; scopes: string[] };
}

export interface Stats {
  snapshots: number;
  companies: number;
  latest_archived_at: string | null;
  latest_invoice_number: string | null;
  monthly_totals: { period: string; total: string; snapshots: number }[];
}

/** A signed checkpoint of the log as the API serves it: its note is the C2SP signed note, byte for byte. */
export interface CheckpointInfo {
  size: number;
  /** The RFC 6962 root, standard base64. */
  root: string;
  note: string;
  signed_at: string;
}

/** `GET /api/integrity/inclusion`: the hashes (base64, leaf upwards) from a leaf to the root of a signed tree size. */
export interface InclusionProof {
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  hashes: string[];
  checkpoint: CheckpointInfo;
}

/** `GET /api/integrity/consistency`: that the tree of size2 extends the tree of size1 (RFC 6962). */
export interface ConsistencyProof {
  size1: number;
  size2: number;
  hashes: string[];
  checkpoint1: CheckpointInfo;
  checkpoint2: CheckpointInfo;
}

/** Where a bill stands in the log: its leaf, or `queued` for the moment between its 201 and its integration. */
export type BillLogState = { state: 'queued' } | { state: 'included'; leaf_index: number; leaf_data: string; integrated_at: string; first_checkpoint_size: number | null };

/**
 * A bill's evidence bundle (`GET /api/snapshot/:invoice/bundle`): everything an auditor needs,
 * with the verifier key they trust, to check the bill offline (shared/evidence.ts).
 */
export interface EvidenceBundle {
  format: 'archive-evidence-bundle/v1';
  invoice_number: string;
  /** The bill's canonical form (shared/canonical.ts), exactly the text that was hashed. */
  canonical: string;
  /** SHA-256 of `canonical`, hex. */
  content_hash: string;
  /** The leaf's text: `archive/snapshot/v1\n<invoice>\n<content hash>\n`. */
  leaf_data: string;
  leaf_index: number;
  inclusion: { tree_size: number; hashes: string[] };
  /** The C2SP signed note of the checkpoint the proof leads to. */
  checkpoint: string;
  /** The key the server says it signs with: informative only; check with the key you trust. */
  verifier_key: string;
  archived_at: string;
  /** For a correction (revision 2, ...): its record, whose digest its leaf records in place of the content hash. */
  revision?: number;
  correction?: Correction;
}

/** Every action the audit trail records. */
export const AUDIT_ACTIONS = [
  'bill.archived',
  'bill.corrected',
  'schedule.changed',
  'run.started',
  'run.cancelled',
  'run.resumed',
  'token.created',
  'token.revoked',
  'export.pdf',
  'export.csv',
  'export.bundle',
  'verify.run',
  'backup.created',
  'backup.restored',
  'schema.partitioned',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** One entry of the audit trail, as stored and served. */
export interface AuditEntry {
  id: number;
  at: string;
  /** The token's name (`service`, `admin`, a named token), `schedule` or `cli:<user>`. */
  actor: string;
  action: AuditAction;
  /** What it was about: an invoice number, a job id, a token's name. */
  subject: string | null;
  /** The billing period it concerns, `YYYY-MM`. */
  period: string | null;
  request_id: string | null;
  /** The client's address as the server saw it. */
  client: string | null;
  details: Record<string, unknown>;
  /** SHA-256 of the entry's canonical form: what its leaf in the log records. */
  entry_hash: string;
}

/** `GET /api/audit` query parameters; unknown ones are refused. */
export const AuditQuery = z.strictObject({
  actor: z.string().min(1).max(100).optional(),
  action: z.enum(AUDIT_ACTIONS, { message: `must be one of ${AUDIT_ACTIONS.join(', ')}` }).optional(),
  invoice_number: z.string().regex(INVOICE_NUMBER, { message: INVOICE_NUMBER_RULE }).optional(),
  subject: z.string().min(1).max(100).optional(),
  period: queryPeriod.optional(),
  from: z.string().datetime({ offset: true, message: 'must be a time such as 2026-12-01T00:00:00Z' }).optional(),
  to: z.string().datetime({ offset: true, message: 'must be a time such as 2026-12-31T23:59:59Z' }).optional(),
  limit: queryInt(1, 1000).default(100),
  offset: queryInt(0, 10_000_000).default(0),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

export interface AuditPage {
  total: number;
  limit: number;
  offset: number;
  entries: AuditEntry[];
}

/** `GET /api/integrity`: the log at a glance. */
export interface IntegrityStatus {
  origin: string;
  verifier_key: string;
  checkpoint: CheckpointInfo;
  /** Bills archived and waiting for the sequencer, and how long the oldest has waited. */
  queued: number;
  oldest_queued_seconds: number | null;
  /** `broken`: the stored tree no longer gives the last signed root; nothing more is signed. */
  sequencer: { state: 'ok' | 'broken'; reason: string | null };
}

/** One problem `archive verify` found, in words, with what it is about. */
export interface VerifyFinding {
  kind: 'bill' | 'audit' | 'leaf' | 'tree' | 'checkpoint';
  invoice_number?: string;
  leaf_index?: number;
  checkpoint_size?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  bills: number;
  audit_entries: number;
  leaves: number;
  checkpoints: number;
  /** Bills archived but not yet in the log (their leaves are queued). */
  queued: number;
  findings: VerifyFinding[];
  /** The first leaf whose stored form no longer matches what was signed, if any. */
  first_divergent_leaf: number | null;
  seconds: number;
  bills_per_second: number;
}

export function isValidIsoDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}
