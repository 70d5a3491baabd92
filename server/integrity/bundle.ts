/**
 * A bill's place in the log, and its evidence bundle: the canonical bill, its leaf, the
 * inclusion proof at the latest checkpoint and that signed checkpoint.
 */
import type { Knex } from 'knex';
import type { BillLogState, EvidenceBundle, SnapshotDetail } from '../../shared/api';
import { canonicalSnapshot } from '../../shared/canonical';
import { ArchiveError } from '../errors';
import { checkpointFrom, inclusionProof, leafOfSnapshot } from './log';

export async function billLogState(knex: Knex, snapshotId: number): Promise<BillLogState> {
  const leaf = await leafOfSnapshot(knex, snapshotId);
  if (!leaf) return { state: 'queued' };
  const first = await checkpointFrom(knex, leaf.leaf_index + 1);
  return { state: 'included', ...leaf, first_checkpoint_size: first?.size ?? null };
}

export async function evidenceBundle(knex: Knex, bill: SnapshotDetail, verifierKey: string): Promise<EvidenceBundle> {
  const leaf = await leafOfSnapshot(knex, bill.id);
  if (!leaf) {
    throw new ArchiveError('invalid_state', `Invoice ${bill.invoice_number} is archived and queued for the log; its evidence bundle is ready within a few seconds`, {
      invoice_number: bill.invoice_number,
      log: 'queued',
    });
  }
  const proof = await inclusionProof(knex, leaf.leaf_index);
  const { billing_data, line_items, correction, revision, ...fields } = bill;
  return {
    format: 'archive-evidence-bundle/v1',
    invoice_number: bill.invoice_number,
    canonical: canonicalSnapshot(fields as unknown as Record<string, unknown>, billing_data, line_items as unknown as Record<string, unknown>[]),
    content_hash: bill.content_hash,
    leaf_data: leaf.leaf_data,
    leaf_index: leaf.leaf_index,
    inclusion: { tree_size: proof.tree_size, hashes: proof.hashes },
    checkpoint: proof.checkpoint.note,
    verifier_key: verifierKey,
    archived_at: bill.archived_at,
    ...(correction ? { revision, correction } : {}),
  };
}
