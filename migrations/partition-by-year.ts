/**
 * `billing_snapshots` partitioned by `billing_year` (range, one partition a year): the step the
 * README's "At scale" section says pays from a few million bills on, not before. Not in the
 * default chain (index.ts): `archive partition-by-year` runs it when an operator decides to,
 * with the service stopped, in one transaction, and `--undo` takes it back. Later migrations
 * that touch `billing_snapshots` must work on both shapes.
 *
 * What changes, and what keeps each guarantee:
 * - Every unique key of a partitioned table must carry the partition key, so the keys move to
 *   a table of their own, `billing_snapshot_keys` (one small row a bill, not partitioned,
 *   written by a row trigger in the bill's own statement, immutable like the bills): the id,
 *   the invoice key, the company-and-period key and the superseded-once key stay unique across
 *   all years, enforced by PostgreSQL's unique indexes at any isolation level and under the
 *   names they had (so a duplicate is the same 409), and the line items' and corrections'
 *   foreign keys point at its ids. The partitioned table's own primary key is (id, billing_year).
 * - Row triggers on the parent (immutability, corrections, the keys) apply to every partition.
 *   Statement triggers (the log queue, the counters, no truncation) are put on every partition
 *   as well, so a write or a TRUNCATE aimed at one partition is treated as one at the table.
 * - The rows are copied as they are (the values, hence the hashes, unchanged) before any
 *   trigger exists on the new table: nothing is queued or counted twice.
 * - What the owner of the tables can always do (drop a trigger, a partition) it can still do;
 *   the log makes it evident: `archive verify` names every bill missing or changed.
 * Line items are not partitioned: 25 small rows a bill, looked up by their bill.
 */
import type { Knex } from 'knex';

export const TABLE = 'billing_snapshots';
const PLAIN = 'billing_snapshots_unpartitioned';

/** Yearly partitions from `first` to `last`, and one each for the years below and above. */
export interface YearRange {
  first: number;
  last: number;
}

const partitionName = (year: number) => `${TABLE}_y${year}`;

/** The indexes other than the unique keys, as migrations 001 and 013 made them. */
const INDEXES = [
  `CREATE INDEX idx_snapshots_company_date ON ${TABLE} (company_account_number, billing_year DESC, billing_month DESC)`,
  `CREATE INDEX idx_snapshots_archived ON ${TABLE} (archived_at DESC, id DESC)`,
  `CREATE INDEX idx_snapshots_period_archived ON ${TABLE} (billing_year, billing_month, archived_at DESC, id DESC)`,
  `CREATE INDEX idx_snapshots_period ON ${TABLE} (billing_year DESC, billing_month DESC)`,
  `CREATE INDEX idx_snapshots_company_name ON ${TABLE} (lower(company_name))`,
  `CREATE INDEX idx_snapshots_company_name_trgm ON ${TABLE} USING gin (lower(company_name) gin_trgm_ops)`,
  `CREATE INDEX idx_snapshots_total ON ${TABLE} (total_amount)`,
  `CREATE INDEX idx_snapshots_superseding ON ${TABLE} (supersedes_id) WHERE supersedes_id IS NOT NULL`,
];

/** The triggers every partition carries itself (statement triggers do not pass to partitions). */
const statementTriggers = (table: string) => [
  `CREATE TRIGGER ${table}_count AFTER INSERT ON ${table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_count_snapshots()`,
  `CREATE TRIGGER ${table}_log AFTER INSERT ON ${table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_queue_snapshots()`,
  `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION archive_refuse_change()`,
];

const ROW_TRIGGERS = [
  `CREATE TRIGGER ${TABLE}_correction BEFORE INSERT ON ${TABLE} FOR EACH ROW WHEN (NEW.supersedes_id IS NOT NULL) EXECUTE FUNCTION archive_check_correction()`,
  `CREATE TRIGGER ${TABLE}_immutable BEFORE UPDATE OR DELETE ON ${TABLE} FOR EACH ROW EXECUTE FUNCTION archive_refuse_change()`,
];

export const KEYS = 'billing_snapshot_keys';

/**
 * The unique keys and the corrections' reference, under the names the default chain gives them
 * (the server tells a duplicate invoice from a duplicate period by them): on `table` itself,
 * or on the key table when billing_snapshots is partitioned.
 */
const uniqueKeys = (table: string) => `ALTER TABLE ${table}
    ADD CONSTRAINT ${TABLE}_pkey PRIMARY KEY (id),
    ADD CONSTRAINT ${TABLE}_company_period_key UNIQUE (company_account_number, billing_year, billing_month, revision),
    ADD CONSTRAINT ${TABLE}_invoice_number_key UNIQUE (invoice_number, revision),
    ADD CONSTRAINT ${TABLE}_superseded_once UNIQUE (supersedes_id),
    ADD CONSTRAINT ${TABLE}_supersedes_id_fkey FOREIGN KEY (supersedes_id) REFERENCES ${table} (id) ON DELETE RESTRICT`;

/** The line items' reference to their bill's id, in `table` (billing_snapshots or the key table). */
const lineItemsReference = (table: string) =>
  `ALTER TABLE snapshot_line_items ADD CONSTRAINT snapshot_line_items_snapshot_id_foreign FOREIGN KEY (snapshot_id) REFERENCES ${table} (id) ON DELETE RESTRICT`;

/** A partition for each year from `first` to `last` and one for the years after; their names. */
async function addYears(trx: Knex.Transaction, first: number, last: number): Promise<string[]> {
  const made: string[] = [];
  for (let y = first; y <= last; y++) {
    await trx.raw(`CREATE TABLE ${partitionName(y)} PARTITION OF ${TABLE} FOR VALUES FROM (${y}) TO (${y + 1})`);
    made.push(partitionName(y));
  }
  made.push(`${TABLE}_from_${last + 1}`);
  await trx.raw(`CREATE TABLE ${made[made.length - 1]} PARTITION OF ${TABLE} FOR VALUES FROM (${last + 1}) TO (MAXVALUE)`);
  return made;
}

/** A bill's keys, written beside it by its own insert (a row trigger: COPY and every path alike). */
const KEYS_TRIGGER = `CREATE FUNCTION archive_record_keys() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${KEYS} (id, invoice_number, revision, company_account_number, billing_year, billing_month, supersedes_id)
        VALUES (NEW.id, NEW.invoice_number, NEW.revision, NEW.company_account_number, NEW.billing_year, NEW.billing_month, NEW.supersedes_id);
      RETURN NEW;
    END $$`;

/** Whether `billing_snapshots` is partitioned already. */
export async function isPartitioned(knex: Knex | Knex.Transaction): Promise<boolean> {
  const { rows } = await knex.raw(`SELECT relkind FROM pg_class WHERE oid = to_regclass(?)`, [TABLE]);
  return rows[0]?.relkind === 'p';
}

/** billing_snapshots' partitions, by name, with their bounds (none when it is one table). */
async function partitions(knex: Knex | Knex.Transaction): Promise<{ name: string; bounds: string }[]> {
  const { rows } = await knex.raw(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bounds
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(?) ORDER BY c.relname`,
    [TABLE],
  );
  return rows;
}

/** The last year with a partition of its own (a year's, or a range's kept by extend), or undefined when not partitioned. */
export async function lastOwnYear(knex: Knex | Knex.Transaction): Promise<number | undefined> {
  const years = (await partitions(knex)).map(({ name }) => /_(?:y|\d{4}_to_)(\d{4})$/.exec(name)?.[1]).filter((y): y is string => y !== undefined);
  return years.length ? Math.max(...years.map(Number)) : undefined;
}

/** The partitions and their rows, oldest first. */
export async function yearPartitions(knex: Knex | Knex.Transaction): Promise<{ name: string; bounds: string; rows: number }[]> {
  const out: { name: string; bounds: string; rows: number }[] = [];
  for (const { name, bounds } of await partitions(knex)) {
    const { rows: n } = await knex.raw(`SELECT count(*)::int AS n FROM ${name}`);
    out.push({ name, bounds, rows: n[0].n });
  }
  // before_ first, the years in order, from_ last.
  const rank = (name: string) => (name.includes('_before_') ? 0 : name.includes('_from_') ? 2 : 1);
  return out.sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

/** Partitions `billing_snapshots` by year, in the caller's transaction (see the header). */
export async function up(trx: Knex.Transaction, years: YearRange): Promise<void> {
  if (!(years.first <= years.last)) throw new Error(`no years to partition by: ${years.first}..${years.last}`);
  await trx.raw(`LOCK TABLE ${TABLE}, snapshot_line_items IN ACCESS EXCLUSIVE MODE`);
  await trx.raw(`ALTER TABLE ${TABLE} RENAME TO ${PLAIN}`);
  await trx.raw(`CREATE TABLE ${TABLE} (LIKE ${PLAIN} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)
    PARTITION BY RANGE (billing_year)`);
  const before = `${TABLE}_before_${years.first}`;
  await trx.raw(`CREATE TABLE ${before} PARTITION OF ${TABLE} FOR VALUES FROM (MINVALUE) TO (${years.first})`);
  const parts = [before, ...(await addYears(trx, years.first, years.last))];
  await trx.raw(`INSERT INTO ${TABLE} SELECT * FROM ${PLAIN} ORDER BY id`);
  await trx.raw(`CREATE TABLE ${KEYS} (
      id bigint NOT NULL, invoice_number varchar(50) NOT NULL, revision integer NOT NULL, company_account_number varchar(50) NOT NULL,
      billing_year integer NOT NULL, billing_month integer NOT NULL, supersedes_id bigint)`);
  await trx.raw(`COMMENT ON TABLE ${KEYS} IS 'The unique keys of billing_snapshots, partitioned by year (migrations/partition-by-year.ts): one row a bill, written by its insert'`);
  await trx.raw(`INSERT INTO ${KEYS} SELECT id, invoice_number, revision, company_account_number, billing_year, billing_month, supersedes_id FROM ${PLAIN} ORDER BY id`);

  // The old table goes (its keys, its self-reference and the line items' reference with it); its sequence stays, now the new table's.
  await trx.raw(`ALTER TABLE snapshot_line_items DROP CONSTRAINT snapshot_line_items_snapshot_id_foreign`);
  await trx.raw(`ALTER SEQUENCE ${TABLE}_id_seq OWNED BY NONE`);
  await trx.raw(`DROP TABLE ${PLAIN}`);
  await trx.raw(`ALTER SEQUENCE ${TABLE}_id_seq OWNED BY ${TABLE}.id`);

  // The keys under their old names, so a duplicate is reported as before.
  await trx.raw(uniqueKeys(KEYS));
  await trx.raw(lineItemsReference(KEYS));
  await trx.raw(`CREATE TRIGGER ${KEYS}_immutable BEFORE UPDATE OR DELETE ON ${KEYS} FOR EACH ROW EXECUTE FUNCTION archive_refuse_change()`);
  await trx.raw(`CREATE TRIGGER ${KEYS}_no_truncate BEFORE TRUNCATE ON ${KEYS} FOR EACH STATEMENT EXECUTE FUNCTION archive_refuse_change()`);

  await trx.raw(`ALTER TABLE ${TABLE} ADD CONSTRAINT ${TABLE}_id_year_key PRIMARY KEY (id, billing_year)`);
  await trx.raw(`CREATE INDEX idx_snapshots_invoice ON ${TABLE} (invoice_number, revision)`);
  for (const sql of INDEXES) await trx.raw(sql);

  await trx.raw(KEYS_TRIGGER);
  await trx.raw(`CREATE TRIGGER ${TABLE}_keys BEFORE INSERT ON ${TABLE} FOR EACH ROW EXECUTE FUNCTION archive_record_keys()`);
  for (const sql of ROW_TRIGGERS) await trx.raw(sql);
  for (const table of [TABLE, ...parts]) for (const sql of statementTriggers(table)) await trx.raw(sql);
}

/**
 * More yearly partitions, through `through`, on a table partitioned already: the partition for
 * the years after the last (`…_from_N`) gives way to yearly ones. Its bills, if any, stay where
 * they are: it is attached again for just the years it holds (`…_N_to_M`), and the yearly
 * partitions start after them. Returns the partitions made.
 */
export async function extend(trx: Knex.Transaction, through: number): Promise<string[]> {
  const upper = (await partitions(trx)).find(({ name }) => name.startsWith(`${TABLE}_from_`))?.name;
  if (!upper) throw new Error(`${TABLE} has no partition for the years after its last: not partitioned by this command`);
  const from = Number(upper.slice(`${TABLE}_from_`.length));
  if (from > through) return [];
  await trx.raw(`LOCK TABLE ${TABLE} IN ACCESS EXCLUSIVE MODE`);
  const { rows: held } = await trx.raw(`SELECT max(billing_year) AS hi FROM ${upper}`);
  const start = held[0].hi === null ? from : Math.max(from, held[0].hi + 1);
  if (start > through) return [];
  await trx.raw(`ALTER TABLE ${TABLE} DETACH PARTITION ${upper}`);
  if (held[0].hi === null) await trx.raw(`DROP TABLE ${upper}`);
  else {
    const kept = `${TABLE}_${from}_to_${start - 1}`;
    await trx.raw(`ALTER TABLE ${upper} RENAME TO ${kept}`);
    for (const t of ['count', 'log', 'no_truncate']) await trx.raw(`ALTER TRIGGER ${upper}_${t} ON ${kept} RENAME TO ${kept}_${t}`);
    await trx.raw(`ALTER TABLE ${TABLE} ATTACH PARTITION ${kept} FOR VALUES FROM (${from}) TO (${start})`);
  }
  const made = await addYears(trx, start, through);
  for (const table of made) for (const sql of statementTriggers(table)) await trx.raw(sql);
  return made;
}

/** Back to one table, as the default chain leaves it. */
export async function down(trx: Knex.Transaction): Promise<void> {
  await trx.raw(`LOCK TABLE ${TABLE}, ${KEYS}, snapshot_line_items IN ACCESS EXCLUSIVE MODE`);
  await trx.raw(`ALTER TABLE ${TABLE} RENAME TO ${PLAIN}`);
  await trx.raw(`CREATE TABLE ${TABLE} (LIKE ${PLAIN} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION INCLUDING COMMENTS)`);
  await trx.raw(`INSERT INTO ${TABLE} SELECT * FROM ${PLAIN} ORDER BY id`);
  await trx.raw(`ALTER TABLE snapshot_line_items DROP CONSTRAINT snapshot_line_items_snapshot_id_foreign`);
  await trx.raw(`ALTER SEQUENCE ${TABLE}_id_seq OWNED BY NONE`);
  await trx.raw(`DROP TABLE ${PLAIN}`);
  await trx.raw(`DROP TABLE ${KEYS}`);
  await trx.raw(`DROP FUNCTION archive_record_keys()`);
  await trx.raw(`ALTER SEQUENCE ${TABLE}_id_seq OWNED BY ${TABLE}.id`);
  await trx.raw(uniqueKeys(TABLE));
  for (const sql of INDEXES) await trx.raw(sql);
  for (const sql of ROW_TRIGGERS) await trx.raw(sql);
  for (const sql of statementTriggers(TABLE)) await trx.raw(sql);
  await trx.raw(lineItemsReference(TABLE));
}
