/**
 * The tamper-evident log (RFC 6962 Merkle tree, C2SP checkpoints): every archived bill is a
 * leaf. Ingest only queues the leaf, in the transaction that archives the bill (a trigger);
 * one sequencer (server/integrity/sequencer.ts) takes queued leaves in commit order, appends
 * them, stores the tree's new complete nodes and signs a checkpoint, all in one transaction.
 * Leaves, nodes and checkpoints are append-only like the bills; the queue is a work list.
 *
 * A leaf is the UTF-8 text `<type>\n<invoice number>\n<content hash>\n`, its type naming what
 * it records (`archive/snapshot/v1` for a bill), so leaves of different kinds never collide.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`CREATE TABLE log_queue (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('snapshot', 'correction', 'audit')),
    ref_id bigint NOT NULL,
    data bytea NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT clock_timestamp()
  )`);
  await knex.raw(`CREATE TABLE log_leaves (
    idx bigint PRIMARY KEY CHECK (idx >= 0),
    kind text NOT NULL CHECK (kind IN ('snapshot', 'correction', 'audit')),
    ref_id bigint NOT NULL,
    data bytea NOT NULL,
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    queued_at timestamptz NOT NULL,
    integrated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (kind, ref_id)
  )`);
  // Every complete subtree's hash above the leaves (level 0 is log_leaves.hash): level L,
  // index i covers leaves [i * 2^L, (i + 1) * 2^L).
  await knex.raw(`CREATE TABLE log_nodes (
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
    idx bigint NOT NULL CHECK (idx >= 0),
    hash bytea NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (level, idx)
  )`);
  await knex.raw(`CREATE TABLE log_checkpoints (
    size bigint PRIMARY KEY CHECK (size >= 0),
    root bytea NOT NULL CHECK (octet_length(root) = 32),
    note text NOT NULL,
    verifier_key text NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT clock_timestamp()
  )`);
  for (const table of ['log_leaves', 'log_nodes', 'log_checkpoints']) {
    await knex.raw(`CREATE TRIGGER ${table}_immutable BEFORE UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION archive_refuse_change()`);
    await knex.raw(`CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION archive_refuse_change()`);
  }

  // A bill's leaf is queued by the statement that archives it: committed together or not at all.
  await knex.raw(`CREATE FUNCTION archive_log_leaf(kind text, invoice text, content_hash text) RETURNS bytea
    LANGUAGE sql IMMUTABLE AS $$
      SELECT convert_to('archive/' || kind || '/v1' || E'\\n' || invoice || E'\\n' || content_hash || E'\\n', 'UTF8')
    $$`);
  await knex.raw(`CREATE FUNCTION archive_queue_snapshots() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO log_queue (kind, ref_id, data)
        SELECT 'snapshot', id, archive_log_leaf('snapshot', invoice_number, content_hash) FROM new_rows ORDER BY id;
      RETURN NULL;
    END $$`);
  await knex.raw(`CREATE TRIGGER billing_snapshots_log AFTER INSERT ON billing_snapshots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_queue_snapshots()`);
  // Bills archived before the log existed join it first, oldest first.
  await knex.raw(`INSERT INTO log_queue (kind, ref_id, data)
    SELECT 'snapshot', id, archive_log_leaf('snapshot', invoice_number, content_hash) FROM billing_snapshots ORDER BY id`);
}

export async function down(): Promise<void> {
  throw new Error('The integrity log is never dropped by a migration: this migration is irreversible.');
}
