/**
 * The log's tables (log_queue, log_leaves, log_nodes, log_checkpoints): this module owns them.
 * Reading checkpoints, a bill's leaf, and proofs made of stored nodes: a proof reads at most a
 * couple of dozen nodes by primary key, nothing of the write path.
 */
import type { Knex } from 'knex';
import { toBase64 } from '../../shared/merkle';
import type { CheckpointInfo, ConsistencyProof, InclusionProof } from '../../shared/api';
import { ArchiveError, validationError } from '../errors';
import { consistencyRanges, evaluate, inclusionRanges, nodesOf, type NodeKey } from './tree';

export interface StoredCheckpoint {
  size: number;
  root: Buffer;
  note: string;
  verifier_key: string;
  signed_at: Date;
}

export async function latestCheckpoint(knex: Knex): Promise<StoredCheckpoint | undefined> {
  const row = await knex('log_checkpoints').orderBy('size', 'desc').first();
  return row ? { ...row, size: Number(row.size) } : undefined;
}

/** The stored checkpoint of exactly this size, or the first one at least this big. */
export async function checkpointFrom(knex: Knex, size: number): Promise<StoredCheckpoint | undefined> {
  const row = await knex('log_checkpoints').where('size', '>=', size).orderBy('size').first();
  return row ? { ...row, size: Number(row.size) } : undefined;
}

export function checkpointInfo(c: StoredCheckpoint): CheckpointInfo {
  return { size: c.size, root: toBase64(c.root), note: c.note, signed_at: c.signed_at.toISOString() };
}

export async function readNodes(knex: Knex, keys: NodeKey[]): Promise<Map<NodeKey, Uint8Array>> {
  const out = new Map<NodeKey, Uint8Array>();
  if (keys.length === 0) return out;
  const wanted = keys.map((k) => {
    const [level, idx] = k.split('/').map(Number);
    return { level, idx };
  });
  // Level 0 is the leaves' own hash; above it, the stored subtrees.
  const { rows } = await knex.raw(
    `WITH k AS (SELECT * FROM jsonb_to_recordset(?::jsonb) AS k(level smallint, idx bigint))
     SELECT 0 AS level, l.idx, l.hash FROM k JOIN log_leaves l ON k.level = 0 AND l.idx = k.idx
     UNION ALL
     SELECT n.level, n.idx, n.hash FROM k JOIN log_nodes n ON k.level > 0 AND n.level = k.level AND n.idx = k.idx`,
    [JSON.stringify(wanted)],
  );
  for (const r of rows as { level: number; idx: number | string; hash: Buffer }[]) out.set(`${r.level}/${Number(r.idx)}`, new Uint8Array(r.hash));
  return out;
}

/** How many leaves wait for the sequencer, and for how long the oldest has. */
export async function queueState(knex: Knex): Promise<{ queued: number; oldest_queued_seconds: number | null }> {
  const { rows } = await knex.raw(`SELECT count(*)::int AS n, extract(epoch FROM clock_timestamp() - min(queued_at))::float8 AS oldest FROM log_queue`);
  return { queued: rows[0].n, oldest_queued_seconds: rows[0].oldest === null ? null : Math.round(rows[0].oldest * 1000) / 1000 };
}

/** The checkpoint of exactly this size (the latest by default), or 404. */
export async function signedCheckpoint(knex: Knex, size?: number): Promise<StoredCheckpoint> {
  const c = size === undefined ? await latestCheckpoint(knex) : await knex('log_checkpoints').where('size', size).first();
  if (!c) throw new ArchiveError('not_found', size === undefined ? 'The log has no checkpoint yet' : `The log has signed no checkpoint of size ${size}`, { size });
  return { ...c, size: Number(c.size) };
}

export interface SnapshotLeaf {
  leaf_index: number;
  leaf_data: string;
  integrated_at: string;
}

/** A bill's leaf (a snapshot's, or a correction's), or undefined while it waits in the queue. */
export async function leafOfSnapshot(knex: Knex, snapshotId: number): Promise<SnapshotLeaf | undefined> {
  const row = await knex('log_leaves as l').whereIn('l.kind', ['snapshot', 'correction']).where('l.ref_id', snapshotId).first('l.idx', 'l.data', 'l.integrated_at');
  return row ? { leaf_index: Number(row.idx), leaf_data: Buffer.from(row.data).toString('utf8'), integrated_at: new Date(row.integrated_at).toISOString() } : undefined;
}

export async function inclusionProof(knex: Knex, index: number, size?: number): Promise<InclusionProof> {
  const checkpoint = await signedCheckpoint(knex, size);
  if (index >= checkpoint.size) throw new ArchiveError('not_found', `Leaf ${index} is not in the tree of size ${checkpoint.size}`, { leaf_index: index, tree_size: checkpoint.size });
  const ranges = inclusionRanges(index, checkpoint.size);
  const nodes = await readNodes(knex, [...nodesOf(ranges), `0/${index}`]);
  return {
    leaf_index: index,
    tree_size: checkpoint.size,
    leaf_hash: toBase64(evaluate({ node: `0/${index}` }, nodes)),
    hashes: ranges.map((r) => toBase64(evaluate(r, nodes))),
    checkpoint: checkpointInfo(checkpoint),
  };
}

export async function consistencyProof(knex: Knex, size1: number, size2?: number): Promise<ConsistencyProof> {
  const second = await signedCheckpoint(knex, size2);
  const first = await signedCheckpoint(knex, size1);
  if (first.size > second.size) throw validationError([{ field: 'from', reason: `must not be larger than to (${first.size} > ${second.size})` }]);
  const ranges = first.size === 0 || first.size === second.size ? [] : consistencyRanges(first.size, second.size);
  const nodes = await readNodes(knex, nodesOf(ranges));
  return { size1: first.size, size2: second.size, hashes: ranges.map((r) => toBase64(evaluate(r, nodes))), checkpoint1: checkpointInfo(first), checkpoint2: checkpointInfo(second) };
}
