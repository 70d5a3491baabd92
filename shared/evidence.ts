/**
 * A bill's evidence bundle, checked offline with nothing but the bundle and a verifier key
 * the auditor trusts: the canonical bill hashes to its content hash, the content hash is what
 * the bill's leaf records, the leaf is in the tree (inclusion proof), and the tree's root is
 * the one a checkpoint signed by that key names. Browser-safe (WebCrypto): the CLI's
 * `archive verify-bundle`, the desktop app and the tests use this one function.
 */
import { z } from 'zod';
import type { Correction, EvidenceBundle } from './api';
import { fromBase64, leafHash, toBase64, verifyInclusion } from './merkle';
import { parseVerifierKey, verifyCheckpoint } from './signed-note';

export class EvidenceError extends Error {}

/** A leaf's text: `archive/<kind>/v1\n<subject>\n<content hash>\n` (the database writes the same). */
export const leafText = (kind: 'snapshot' | 'correction' | 'audit', subject: string, contentHash: string) => `archive/${kind}/v1\n${subject}\n${contentHash}\n`;

/**
 * A correction's record, whose SHA-256 its leaf records (the database writes the same text:
 * archive_correction_record in the corrections migration): the invoice, the revision, the
 * content hash of the revision it supersedes, its own content hash, who filed it, and the
 * reason, last, as it may hold line breaks.
 */
export const correctionRecord = (invoice: string, revision: number, c: Pick<Correction, 'supersedes_content_hash' | 'corrected_by' | 'reason'>, contentHash: string) =>
  `archive/correction-record/v1\n${invoice}\n${revision}\n${c.supersedes_content_hash}\n${contentHash}\n${c.corrected_by}\n${c.reason}`;

export const sha256Hex = async (text: string) => hex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));

/** The hash a bill's revision's leaf records: a snapshot's content hash; for a correction, its record's digest. */
export async function recordedHash(invoice: string, contentHash: string, revision: number, correction: Omit<Correction, 'supersedes_revision'> | null | undefined): Promise<string> {
  return revision === 1 || !correction ? contentHash : sha256Hex(correctionRecord(invoice, revision, correction, contentHash));
}

/** The leaf a bill's revision has in the log (`snapshot` or `correction`, with its recorded hash). */
export async function billLeafText(invoice: string, contentHash: string, revision: number, correction: Correction | null | undefined): Promise<string> {
  return leafText(revision === 1 || !correction ? 'snapshot' : 'correction', invoice, await recordedHash(invoice, contentHash, revision, correction));
}

const b64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, { message: 'must be base64' });
const BundleShape = z.object({
  format: z.literal('archive-evidence-bundle/v1', { message: 'is not archive-evidence-bundle/v1' }),
  invoice_number: z.string().min(1),
  canonical: z.string().min(1),
  content_hash: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 hex digits' }),
  leaf_data: z.string(),
  leaf_index: z.number().int().min(0),
  inclusion: z.object({ tree_size: z.number().int().min(1), hashes: z.array(b64).max(64) }),
  checkpoint: z.string().min(1),
  verifier_key: z.string().optional(),
  archived_at: z.string().optional(),
  revision: z.number().int().min(1).optional(),
  correction: z
    .object({
      supersedes_revision: z.number().int().min(1),
      supersedes_content_hash: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 hex digits' }),
      reason: z.string().min(1),
      corrected_by: z.string().min(1),
    })
    .optional(),
});

export interface BundleCheck {
  invoice_number: string;
  content_hash: string;
  leaf_index: number;
  tree_size: number;
  origin: string;
  /** The root the checkpoint signed (base64): what any consistency check must be about. */
  root: string;
  /** 1, or the correction's revision with its record (checked: its leaf records it). */
  revision: number;
  correction: Correction | null;
  /** The bill as hashed: its fields, billing data and lines. */
  bill: { snapshot: Record<string, unknown>; line_items: Record<string, unknown>[] };
  /** Each check that passed, in words. */
  checks: string[];
}

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Resolves with what was checked, or rejects with an EvidenceError saying which step failed. */
export async function verifyBundle(input: unknown, verifierKey: string): Promise<BundleCheck> {
  const parsed = BundleShape.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new EvidenceError(`This is not an evidence bundle: ${i.path.join('.') || '(file)'} ${i.message}`);
  }
  const b = parsed.data as EvidenceBundle;
  const checks: string[] = [];
  let key;
  try {
    key = await parseVerifierKey(verifierKey);
  } catch (err) {
    throw new EvidenceError(`The verifier key cannot be used: ${(err as Error).message}`);
  }

  const digest = await sha256Hex(b.canonical);
  if (digest !== b.content_hash) throw new EvidenceError(`The bill does not hash to its content hash (SHA-256 ${digest}, the bundle says ${b.content_hash}): the bill was changed`);
  let bill: BundleCheck['bill'];
  try {
    bill = JSON.parse(b.canonical);
  } catch {
    throw new EvidenceError('The canonical bill is not JSON');
  }
  if (bill?.snapshot?.invoice_number !== b.invoice_number) throw new EvidenceError(`The bill is invoice ${String(bill?.snapshot?.invoice_number)}, not ${b.invoice_number}`);
  checks.push(`the bill hashes to ${b.content_hash}`);

  const revision = b.revision ?? 1;
  if (revision > 1 !== (b.correction !== undefined)) throw new EvidenceError(`The bundle is revision ${revision} but ${b.correction ? 'carries' : 'lacks'} a correction record`);
  if (b.correction && b.correction.supersedes_revision !== revision - 1)
    throw new EvidenceError(`Revision ${revision} says it supersedes revision ${b.correction.supersedes_revision}; a correction supersedes the revision before it`);
  if (b.leaf_data !== (await billLeafText(b.invoice_number, b.content_hash, revision, b.correction))) {
    throw new EvidenceError(
      b.correction ? 'The leaf does not record this correction (its invoice, revision, link, reason or author differ)' : 'The leaf does not record this invoice and content hash',
    );
  }
  checks.push(
    b.correction
      ? `leaf ${b.leaf_index} records revision ${revision} of invoice ${b.invoice_number}: a correction of revision ${b.correction.supersedes_revision} by ${b.correction.corrected_by}, with this bill and reason`
      : `leaf ${b.leaf_index} records invoice ${b.invoice_number} with that hash`,
  );

  let checkpoint;
  try {
    checkpoint = await verifyCheckpoint(b.checkpoint, [key]);
  } catch (err) {
    throw new EvidenceError(`The checkpoint is not signed by ${key.name}: ${(err as Error).message}`);
  }
  if (checkpoint.origin !== key.name) throw new EvidenceError(`The checkpoint is of the log ${checkpoint.origin}, not of ${key.name}`);
  if (checkpoint.size !== b.inclusion.tree_size) throw new EvidenceError(`The proof is for a tree of ${b.inclusion.tree_size} leaves, the checkpoint for ${checkpoint.size}`);
  checks.push(`checkpoint ${checkpoint.size} of ${checkpoint.origin} is signed by the key`);

  try {
    await verifyInclusion(b.leaf_index, b.inclusion.tree_size, await leafHash(new TextEncoder().encode(b.leaf_data)), b.inclusion.hashes.map(fromBase64), checkpoint.root);
  } catch (err) {
    throw new EvidenceError(`The leaf is not in the signed tree: ${(err as Error).message}`);
  }
  checks.push(`the inclusion proof leads from leaf ${b.leaf_index} to the signed root`);
  return {
    invoice_number: b.invoice_number,
    content_hash: b.content_hash,
    leaf_index: b.leaf_index,
    revision,
    correction: b.correction ?? null,
    tree_size: checkpoint.size,
    origin: checkpoint.origin,
    root: toBase64(checkpoint.root),
    bill,
    checks,
  };
}
