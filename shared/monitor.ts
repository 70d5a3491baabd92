/**
 * The desktop app as a monitor of a server's log. Per server it keeps the verifier key it
 * trusted first (shown to the person to compare, like an SSH host key) and the last checkpoint
 * it verified. Each check fetches the server's key and latest checkpoint, and, when the tree
 * grew, a consistency proof from the one verified before; all of it is verified here, with the
 * shared code, never taken from the server's word. A failure keeps the trusted state as it was,
 * so it is reported again at every check until the person deliberately trusts the new state.
 * Browser-safe: the main process and the web bridge run the same function.
 */
import type { ArchiveClient } from './archive-client';
import { BridgeError } from './bridge-error';
import type { BundleCheck } from './evidence';
import { sha256Hex, verifyBundle } from './evidence';
import type { ConsistencyProof, EvidenceBundle, IntegrityStatus, SnapshotDetail } from './api';
import { canonicalSnapshot } from './canonical';
import { fromBase64, toBase64, verifyConsistency } from './merkle';
import { parseVerifierKey, verifierKeyParts, verifyCheckpoint } from './signed-note';

/** What the app remembers of one server's log. */
export interface TrustRecord {
  verifierKey: string;
  /** The last checkpoint verified: its signed note, size and root. */
  note: string;
  size: number;
  root: string;
  trustedAt: string;
  verifiedAt: string;
}

export type LogFailure = 'key_changed' | 'bad_signature' | 'smaller_tree' | 'inconsistent';

export type LogCheck =
  | { state: 'ok' | 'first_use'; keyName: string; keyId: string; verifierKey: string; size: number; verifiedAt: string }
  | {
      state: 'failed';
      failure: LogFailure;
      /** What failed, in the words the banner shows. */
      message: string;
      keyName: string;
      keyId: string;
      verifierKey: string;
      /** The key the server shows now (differs from verifierKey when the key changed). */
      servedKey: string;
      trustedSize: number;
      servedSize: number | null;
      verifiedAt: string;
    };

/** How the check reaches the server (the API client's calls). */
export interface LogSource {
  status(): Promise<IntegrityStatus>;
  consistency(from: number, to: number): Promise<ConsistencyProof>;
}

const keyParts = verifierKeyParts;

/**
 * Checks the log against what was trusted; resolves with the outcome and the record to keep
 * (unchanged after a failure). Network errors reject: they say nothing about the log.
 */
export async function checkLog(trusted: TrustRecord | null, source: LogSource, now = new Date()): Promise<{ check: LogCheck; record: TrustRecord | null }> {
  const served = await source.status();
  const at = now.toISOString();
  if (!trusted) {
    // Trust on first use: the key must at least sign the checkpoint it comes with.
    const cp = await verifyCheckpoint(served.checkpoint.note, [await parseVerifierKey(served.verifier_key)]);
    const record: TrustRecord = { verifierKey: served.verifier_key, note: served.checkpoint.note, size: cp.size, root: toBase64(cp.root), trustedAt: at, verifiedAt: at };
    return { check: { state: 'first_use', ...keyParts(served.verifier_key), verifierKey: served.verifier_key, size: cp.size, verifiedAt: at }, record };
  }
  const fail = (failure: LogFailure, message: string, servedSize: number | null) => ({
    check: {
      state: 'failed' as const,
      failure,
      message,
      ...keyParts(trusted.verifierKey),
      verifierKey: trusted.verifierKey,
      servedKey: served.verifier_key,
      trustedSize: trusted.size,
      servedSize,
      verifiedAt: at,
    },
    record: trusted,
  });
  if (served.verifier_key !== trusted.verifierKey) {
    return fail(
      'key_changed',
      `The server now signs its log with another key (${keyParts(served.verifier_key).keyId}, not the ${keyParts(trusted.verifierKey).keyId} trusted on ${trusted.trustedAt.slice(0, 10)}). Its history can no longer be checked against what this computer saw.`,
      served.checkpoint.size,
    );
  }
  let cp;
  try {
    cp = await verifyCheckpoint(served.checkpoint.note, [await parseVerifierKey(trusted.verifierKey)]);
  } catch (err) {
    return fail('bad_signature', `The server's latest checkpoint is not signed by the trusted key: ${(err as Error).message}.`, served.checkpoint.size);
  }
  if (cp.size < trusted.size) {
    return fail(
      'smaller_tree',
      `The log has shrunk: it now holds ${cp.size} entries, but this computer verified ${trusted.size} on ${trusted.verifiedAt.slice(0, 10)}. Entries were removed.`,
      cp.size,
    );
  }
  const root = fromBase64(trusted.root);
  try {
    if (cp.size === trusted.size) {
      if (toBase64(cp.root) !== trusted.root) throw new Error('two different roots for one size');
    } else if (trusted.size > 0) {
      const proof = await source.consistency(trusted.size, cp.size);
      await verifyConsistency(trusted.size, cp.size, proof.hashes.map(fromBase64), root, cp.root);
    }
  } catch (err) {
    return fail(
      'inconsistent',
      `The log's history was rewritten: the checkpoint of ${cp.size} entries does not extend the one of ${trusted.size} verified on ${trusted.verifiedAt.slice(0, 10)} (${(err as Error).message}).`,
      cp.size,
    );
  }
  const record: TrustRecord = { ...trusted, note: served.checkpoint.note, size: cp.size, root: toBase64(cp.root), verifiedAt: at };
  return { check: { state: 'ok', ...keyParts(trusted.verifierKey), verifierKey: trusted.verifierKey, size: cp.size, verifiedAt: at }, record };
}

/** A bill checked on this computer: its evidence bundle, with the trusted key, and that the bill shown is the bill proven. */
export interface BillCheck {
  ok: boolean;
  message: string;
  leaf_index: number | null;
  tree_size: number | null;
}

export async function checkBill(bundle: EvidenceBundle, trustedKey: string, shownDigest?: string): Promise<BillCheck & { root?: string }> {
  let check: BundleCheck;
  try {
    check = await verifyBundle(bundle, trustedKey);
  } catch (err) {
    return { ok: false, message: (err as Error).message, leaf_index: bundle.leaf_index ?? null, tree_size: bundle.inclusion?.tree_size ?? null };
  }
  if (shownDigest !== undefined && shownDigest !== check.content_hash) {
    return { ok: false, message: 'the bill shown is not the bill the log proves', leaf_index: check.leaf_index, tree_size: check.tree_size };
  }
  return {
    ok: true,
    message: `Included in checkpoint ${check.tree_size} (leaf ${check.leaf_index}), verified on this computer`,
    leaf_index: check.leaf_index,
    tree_size: check.tree_size,
    root: check.root,
  };
}

/** SHA-256 (hex) of a bill's canonical form, as the bill is shown: what its proof must be about. */
export async function billDigest(bill: SnapshotDetail): Promise<string> {
  const { billing_data, line_items, ...fields } = bill;
  return sha256Hex(canonicalSnapshot(fields as unknown as Record<string, unknown>, billing_data, line_items as unknown as Record<string, unknown>[]));
}

/** Where the app keeps what it trusted, per saved server (a file in the main process, localStorage in the web bridge). */
export interface TrustStore {
  get(serverId: string): TrustRecord | null;
  set(serverId: string, record: TrustRecord): void;
  remove(serverId: string): void;
}

const strip = ({ root: _root, ...check }: BillCheck & { root?: string }): BillCheck => check;

/** The connected server's log through the API client. */
export const logSource = (client: ArchiveClient): LogSource => ({
  status: () => client.call('log:status'),
  consistency: (from, to) => client.call('log:consistency', from, to),
});

/**
 * The bridge's `integrity` calls, the same in the main process and the web bridge:
 * check the log, trust its current key and state deliberately (the person types the key ID
 * they compared), and check a bill on this computer.
 */
export function monitorCalls(store: TrustStore, connected: () => { serverId: string; client: ArchiveClient }) {
  return {
    check: async (): Promise<LogCheck> => {
      const { serverId, client } = connected();
      const { check, record } = await checkLog(store.get(serverId), logSource(client));
      if (record) store.set(serverId, record);
      return check;
    },
    trust: async (keyId: string): Promise<LogCheck> => {
      const { serverId, client } = connected();
      const served = await client.call('log:status');
      if (keyParts(served.verifier_key).keyId !== keyId) {
        throw new BridgeError('invalid_arguments', `The server's key is ${keyParts(served.verifier_key).keyId}, not ${keyId}: type the key ID you compared`, undefined, {
          fields: [{ field: 'key_id', reason: 'is not the key the server shows' }],
        });
      }
      const { check, record } = await checkLog(null, logSource(client));
      // The key trusted is the one whose ID was typed, not whatever the server shows by now.
      if (keyParts(record!.verifierKey).keyId !== keyId) throw new BridgeError('invalid_arguments', 'The server changed its key again while it was being trusted; compare it once more');
      store.set(serverId, record!);
      return check;
    },
    verifyBill: async (invoice: string, shownDigest: string, revision?: number): Promise<BillCheck> => {
      const { serverId, client } = connected();
      const trusted = store.get(serverId);
      if (!trusted) return { ok: false, message: "This server's log has not been checked yet", leaf_index: null, tree_size: null };
      // A bill is proven only in a log that is still the one this computer saw grow.
      const { check, record } = await checkLog(trusted, logSource(client));
      if (check.state === 'failed') return { ok: false, message: `the server's log failed verification (${check.message})`, leaf_index: null, tree_size: null };
      store.set(serverId, record!);
      const proven = await checkBill(await client.call('snapshots:bundle', invoice, revision), record!.verifierKey, shownDigest);
      if (!proven.ok || proven.tree_size === record!.size) {
        if (proven.ok && proven.root !== record!.root) return { ...proven, ok: false, message: 'its checkpoint has another root than the one this computer verified at that size' };
        return strip(proven);
      }
      // The bundle's checkpoint is another than the one just verified: one must extend the other,
      // proven between the two signed roots (never roots the server merely states).
      const theirs = { size: proven.tree_size!, root: proven.root! };
      const [small, large] = theirs.size < record!.size ? [theirs, record!] : [record!, theirs];
      try {
        const proof = await client.call('log:consistency', small.size, large.size);
        await verifyConsistency(small.size, large.size, proof.hashes.map(fromBase64), fromBase64(small.root), fromBase64(large.root));
      } catch (err) {
        return { ok: false, message: `its checkpoint is not consistent with the one this computer verified (${(err as Error).message})`, leaf_index: proven.leaf_index, tree_size: proven.tree_size };
      }
      return strip(proven);
    },
  };
}
