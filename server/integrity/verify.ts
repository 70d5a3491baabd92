/**
 * `archive verify`: everything the archive's guarantees rest on, recomputed from what is
 * stored, and checked against what was signed.
 *  - every bill's content hash from its stored fields and lines, against the hash its leaf
 *    recorded (and its own column); a changed bill is named with the field or line that
 *    differs from its evidence (the raw body);
 *  - every leaf: its hash, its place (no gaps), its bill still there;
 *  - the tree from the leaves, against the stored nodes;
 *  - every checkpoint's signature (with the key given, not one read from the database) and
 *    its root against the tree the leaves give at its size: a rewritten, reordered or
 *    truncated log no longer gives the roots that were signed.
 * Findings are in words; a report with any is not `ok`.
 */
import type { Knex } from 'knex';
import type { VerifyFinding, VerifyReport } from '../../shared/api';
import { equalHashes, toBase64 } from '../../shared/merkle';
import { parseVerifierKey, verifyCheckpoint, type VerifierKey } from '../../shared/signed-note';
import os from 'node:os';
import { recordedHash } from '../../shared/evidence';
import { checkedBills } from './bill-check';
import { readBillsById, type CheckedBill, type Query } from './bill-batch';
import { auditBatch, auditHash } from '../audit/trail';
import { billFromEvidence, describeDifferences } from './differences';
import { evaluate, leafHashSync, nodeHashSync, rootRange, EMPTY_ROOT, type NodeKey } from './tree';

export interface VerifyOptions {
  /** The verifier key checkpoints must be signed with (the operator's, never the database's). */
  verifierKey: string;
  onProgress?: (stage: 'bills' | 'leaves' | 'checkpoints', done: number, total: number) => void;
  batchSize?: number;
  /** Worker threads hashing bills (default: the cores, at most 4); 0 hashes on this thread. */
  threads?: number;
}

const LEAF = /^archive\/(snapshot|correction|audit)\/v1\n([^\n]*)\n([0-9a-f]{64})\n$/;

export async function verifyArchive(knex: Knex, opts: VerifyOptions): Promise<VerifyReport> {
  // One snapshot of the database for the whole check: bills archived and leaves signed meanwhile are not half seen.
  if ((knex as { isTransaction?: boolean }).isTransaction) return verifyInTransaction(knex, opts, false);
  return knex.transaction((trx) => verifyInTransaction(trx, opts, true), { isolationLevel: 'repeatable read', readOnly: true });
}

async function verifyInTransaction(knex: Knex, opts: VerifyOptions, ownTransaction: boolean): Promise<VerifyReport> {
  const started = performance.now();
  const key = await parseVerifierKey(opts.verifierKey);
  const db = oneAtATime(knex);
  // Each check's findings apart (they run side by side), reported in this order.
  const [leafFindings, billFindings, auditFindings, treeFindings] = [[], [], [], []] as VerifyFinding[][];
  // Leaves known to differ from what was signed; and, from the checkpoints alone, where that starts at the latest.
  const divergent: number[] = [];
  const bound: number[] = [];

  // The bills (the long part, in worker threads where it can) beside the leaves and the audit trail.
  const [leaves, bills, audit] = await Promise.all([
    checkLeaves(db, leafFindings, divergent, opts),
    checkBills(knex, db, billFindings, divergent, opts, ownTransaction),
    checkAudit(db, auditFindings, divergent),
  ]);
  const levels = buildTree(leaves.hashes);
  await checkNodes(db, levels, treeFindings, divergent);
  const checkpoints = await checkCheckpoints(db, key, levels, leaves.hashes.length, treeFindings, bound, opts);
  const findings = [...leafFindings, ...billFindings, ...auditFindings, ...treeFindings];

  const seconds = (performance.now() - started) / 1000;
  return {
    ok: findings.length === 0,
    bills: bills.count,
    audit_entries: audit.count,
    leaves: leaves.hashes.length,
    checkpoints,
    queued: bills.queued + audit.queued,
    findings,
    // A reduce, not Math.min(...): a badly damaged log can name more leaves than a call takes arguments.
    first_divergent_leaf: lowest(divergent) ?? lowest(bound),
    seconds: Math.round(seconds * 1000) / 1000,
    bills_per_second: seconds > 0 ? Math.round(bills.count / seconds) : bills.count,
  };
}

/** The verify's transaction, one statement at a time: its checks run side by side, a connection runs one statement at a time. */
function oneAtATime(knex: Knex): Query {
  let last: Promise<unknown> = Promise.resolve();
  return (sql, params) => {
    const run = last.then(() => knex.raw(sql, (params ?? []) as Knex.RawBinding[]));
    last = run.catch(() => undefined);
    return run;
  };
}

const lowest = (xs: number[]): number | null => (xs.length ? xs.reduce((a, b) => Math.min(a, b)) : null);

/** Every leaf in order: its hash recomputed from its data, its bill still there. */
async function checkLeaves(db: Query, findings: VerifyFinding[], divergent: number[], opts: VerifyOptions): Promise<{ hashes: Buffer[] }> {
  const hashes: Buffer[] = [];
  const { rows: total } = await db('SELECT count(*)::bigint AS n FROM log_leaves');
  let after = -1;
  for (;;) {
    const { rows } = await db(
      `SELECT l.idx, l.kind, l.data, l.hash, (s.id IS NOT NULL OR a.id IS NOT NULL) AS present
         FROM log_leaves l
         LEFT JOIN billing_snapshots s ON l.kind IN ('snapshot', 'correction') AND s.id = l.ref_id
         LEFT JOIN audit_log a ON l.kind = 'audit' AND a.id = l.ref_id
        WHERE l.idx > ? ORDER BY l.idx LIMIT ?`,
      [after, 20_000],
    );
    if (rows.length === 0) break;
    for (const r of rows as { idx: number | string; kind: string; data: Buffer; hash: Buffer; present: boolean }[]) {
      const idx = Number(r.idx);
      if (idx !== hashes.length) {
        findings.push({ kind: 'leaf', leaf_index: hashes.length, message: `Leaves ${hashes.length} to ${idx - 1} are missing from the log` });
        divergent.push(hashes.length);
        // The tree is recomputed from the leaves as they stand: the checkpoints then say what that breaks.
      }
      const hash = leafHashSync(r.data);
      if (!equalHashes(hash, r.hash)) {
        findings.push({ kind: 'leaf', leaf_index: idx, message: `Leaf ${idx}: its stored hash is not the hash of its data` });
        divergent.push(idx);
      }
      const m = LEAF.exec(Buffer.from(r.data).toString('utf8'));
      if (!m || m[1] !== r.kind) {
        findings.push({ kind: 'leaf', leaf_index: idx, message: `Leaf ${idx}: its data is not a ${r.kind} leaf` });
        divergent.push(idx);
      } else if (!r.present && r.kind === 'correction') {
        findings.push({ kind: 'bill', leaf_index: idx, invoice_number: m[2], message: `A correction of invoice ${m[2]} (leaf ${idx}) is no longer in the archive: it was deleted` });
      } else if (!r.present && r.kind === 'audit') {
        findings.push({ kind: 'audit', leaf_index: idx, message: `Audit entry ${m[2]} (leaf ${idx}) is no longer in the trail: it was deleted` });
      } else if (!r.present) {
        findings.push({ kind: 'bill', leaf_index: idx, invoice_number: m[2], message: `Invoice ${m[2]} (leaf ${idx}) is no longer in the archive: the bill was deleted` });
      }
      hashes.push(hash);
      after = idx;
    }
    opts.onProgress?.('leaves', hashes.length, Number(total[0].n));
  }
  return { hashes };
}

/**
 * Every bill's content hash, recomputed from its stored fields and lines, against its leaf
 * (bill-check.ts reads and hashes them, in worker threads where it can).
 */
async function checkBills(knex: Knex, db: Query, findings: VerifyFinding[], divergent: number[], opts: VerifyOptions, ownTransaction: boolean): Promise<{ count: number; queued: number }> {
  const { rows: total } = await db('SELECT count(*)::bigint AS n FROM billing_snapshots');
  const threads = opts.threads ?? Math.min(4, os.availableParallelism());
  let count = 0;
  let queued = 0;
  for await (const bills of checkedBills(knex, db, { threads, rangeSize: opts.batchSize ?? 400, ownTransaction })) {
    const changed: { bill: CheckedBill; leafIndex: number | null }[] = [];
    for (const bill of bills) {
      const { hash, lines } = bill;
      const invoice = bill.invoice_number;
      const label = bill.revision > 1 ? `Invoice ${invoice} (revision ${bill.revision})` : `Invoice ${invoice}`;
      // A correction's leaf records its correction record's digest (the bill's hash, its link, reason and author).
      const correction = bill.revision > 1 ? { supersedes_content_hash: bill.supersedes_hash ?? '', corrected_by: bill.corrected_by ?? '', reason: bill.correction_reason ?? '' } : null;
      const recorded = await recordedHash(invoice, hash, bill.revision, correction);
      const leafIndex = bill.leaf_idx;
      if (lines !== bill.line_item_count) {
        findings.push({
          kind: 'bill',
          invoice_number: invoice,
          ...(leafIndex !== null ? { leaf_index: leafIndex } : {}),
          message: `${label}: it has ${lines} line item${lines === 1 ? '' : 's'}, but was archived with ${bill.line_item_count}`,
        });
      }
      if (leafIndex !== null && bill.leaf_text !== null) {
        const m = LEAF.exec(bill.leaf_text);
        if (m && m[2] !== invoice) findings.push({ kind: 'bill', invoice_number: invoice, leaf_index: leafIndex, message: `${label}: the log recorded it as invoice ${m[2]} (leaf ${leafIndex})` });
        if (m && m[1] !== (bill.revision > 1 ? 'correction' : 'snapshot'))
          findings.push({ kind: 'bill', invoice_number: invoice, leaf_index: leafIndex, message: `${label}: the log recorded it as a ${m[1]} (leaf ${leafIndex})` });
        if (m && m[3] !== recorded) {
          if (bill.revision > 1 && m[1] === 'correction' && bill.content_hash === hash) {
            findings.push({
              kind: 'bill',
              invoice_number: invoice,
              leaf_index: leafIndex,
              message: `${label}: its correction record (the reason, who filed it, or the revision it supersedes) no longer matches what the log recorded (leaf ${leafIndex}): it was changed`,
            });
          } else changed.push({ bill, leafIndex });
          divergent.push(leafIndex);
        } else if (bill.content_hash !== hash) {
          findings.push({
            kind: 'bill',
            invoice_number: invoice,
            leaf_index: leafIndex,
            message: `${label}: its content_hash column was changed (the bill itself matches leaf ${leafIndex})`,
          });
        }
      } else {
        if (bill.content_hash !== hash) changed.push({ bill, leafIndex: null });
        if (bill.queued) queued++;
        else findings.push({ kind: 'bill', invoice_number: invoice, message: `${label} is not in the log, and not queued for it` });
      }
    }
    if (changed.length > 0) await nameChanges(db, changed, findings);
    count += bills.length;
    opts.onProgress?.('bills', count, Number(total[0].n));
  }
  return { count, queued };
}

/** Every audit entry's hash, recomputed from its columns, against its leaf. */
async function checkAudit(db: Query, findings: VerifyFinding[], divergent: number[]): Promise<{ count: number; queued: number }> {
  let after = 0;
  let count = 0;
  let queued = 0;
  for (;;) {
    const rows = await auditBatch(db, after, 5000);
    if (rows.length === 0) break;
    for (const e of rows) {
      const hash = auditHash(e);
      const what = `Audit entry ${e.id} (${e.action} by ${e.actor} at ${e.at})`;
      const m = e.leaf_data ? LEAF.exec(Buffer.from(e.leaf_data).toString('utf8')) : null;
      if (e.leaf_idx !== null && m) {
        if (m[3] !== hash) {
          findings.push({ kind: 'audit', leaf_index: e.leaf_idx, message: `${what} no longer matches what the log recorded (leaf ${e.leaf_idx}): it was changed` });
          divergent.push(e.leaf_idx);
        } else if (e.entry_hash !== hash) findings.push({ kind: 'audit', leaf_index: e.leaf_idx, message: `${what}: its entry_hash column was changed` });
      } else {
        if (e.entry_hash !== hash) findings.push({ kind: 'audit', message: `${what} no longer matches its own hash: it was changed` });
        if (e.queued) queued++;
        else findings.push({ kind: 'audit', message: `${what} is not in the log, and not queued for it` });
      }
    }
    count += rows.length;
    after = rows[rows.length - 1].id;
  }
  return { count, queued };
}

/** A changed bill, named with what differs from its evidence (its stored text read again: it is rare). */
async function nameChanges(db: Query, changed: { bill: CheckedBill; leafIndex: number | null }[], findings: VerifyFinding[]): Promise<void> {
  const stored = await readBillsById(
    db,
    changed.map((c) => c.bill.id),
  );
  for (const c of changed) {
    const s = stored.get(c.bill.id);
    const evidence = s ? billFromEvidence(s) : undefined;
    const diff = s && evidence ? describeDifferences(s, evidence) : [];
    const where = c.leafIndex === null ? 'its own content hash' : `what the log recorded (leaf ${c.leafIndex})`;
    const what = diff.length > 0 ? `: ${diff.join('; ')}` : evidence ? ' (its billing data was changed, or its evidence too)' : ' (it has no raw body to name the field by)';
    findings.push({
      kind: 'bill',
      invoice_number: c.bill.invoice_number,
      ...(c.leafIndex !== null ? { leaf_index: c.leafIndex } : {}),
      message: `Invoice ${c.bill.invoice_number}${c.bill.revision > 1 ? ` (revision ${c.bill.revision})` : ''} no longer matches ${where}${what}`,
    });
  }
}

/** The complete subtrees of the leaves as they stand: level L, index i at levels[L][i]. */
function buildTree(leaves: Buffer[]): Buffer[][] {
  const levels: Buffer[][] = [leaves];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    const up: Buffer[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) up.push(nodeHashSync(below[i], below[i + 1]));
    levels.push(up);
  }
  return levels;
}

const treeSource = (levels: Buffer[][]) => ({
  get: (k: NodeKey) => {
    const [level, idx] = k.split('/').map(Number);
    return levels[level]?.[idx];
  },
});

/** The stored nodes against the tree the leaves give: where they part, the log was rewritten. */
async function checkNodes(db: Query, levels: Buffer[][], findings: VerifyFinding[], divergent: number[]): Promise<void> {
  let differing = 0;
  // The lowest level with a differing node says best where the leaves part: a leaf itself, or the smallest subtree.
  let lowest: { level: number; idx: number } | null = null;
  let after = { level: -1, idx: -1 };
  for (;;) {
    const { rows } = await db('SELECT level, idx, hash FROM log_nodes WHERE (level, idx) > (?, ?) ORDER BY level, idx LIMIT 20000', [after.level, after.idx]);
    if (rows.length === 0) break;
    for (const r of rows as { level: number; idx: number | string; hash: Buffer }[]) {
      const idx = Number(r.idx);
      const expected = levels[r.level]?.[idx];
      if (!expected || !equalHashes(expected, r.hash)) {
        differing++;
        lowest ??= { level: r.level, idx };
      }
      after = { level: r.level, idx };
    }
  }
  if (lowest) {
    const first = lowest.idx * 2 ** lowest.level;
    const where = lowest.level === 0 ? `leaf ${first}` : `leaves ${first} to ${first + 2 ** lowest.level - 1}`;
    findings.push({
      kind: 'tree',
      leaf_index: first,
      message: `${differing} stored tree node${differing === 1 ? '' : 's'} no longer match${differing === 1 ? 'es' : ''} the leaves, from ${where} on`,
    });
    divergent.push(first);
  }
}

/** Every checkpoint: signed by the key, and its root what the leaves give at its size. */
async function checkCheckpoints(db: Query, key: VerifierKey, levels: Buffer[][], leafCount: number, findings: VerifyFinding[], divergent: number[], opts: VerifyOptions): Promise<number> {
  const source = treeSource(levels);
  const { rows: total } = await db('SELECT count(*)::bigint AS n FROM log_checkpoints');
  let count = 0;
  let lastGood = 0;
  let firstBad: number | null = null;
  let badRoots = 0;
  let after = -1;
  for (;;) {
    const { rows } = await db('SELECT size, root, note FROM log_checkpoints WHERE size > ? ORDER BY size LIMIT 5000', [after]);
    if (rows.length === 0) break;
    for (const r of rows as { size: number | string; root: Buffer; note: string }[]) {
      const size = Number(r.size);
      after = size;
      count++;
      let signed;
      try {
        signed = await verifyCheckpoint(r.note, [key]);
      } catch (err) {
        findings.push({ kind: 'checkpoint', checkpoint_size: size, message: `Checkpoint ${size}: ${(err as Error).message}` });
        continue;
      }
      if (signed.size !== size || signed.origin !== key.name) {
        findings.push({ kind: 'checkpoint', checkpoint_size: size, message: `Checkpoint ${size}: the signed note is for ${signed.origin} at size ${signed.size}` });
        continue;
      }
      if (size > leafCount) {
        findings.push({ kind: 'checkpoint', checkpoint_size: size, message: `Checkpoint ${size} was signed, but the log holds only ${leafCount} leaves: the log was truncated` });
        divergent.push(leafCount);
        continue;
      }
      const root = size === 0 ? EMPTY_ROOT : evaluate(rootRange(size), source);
      if (!equalHashes(root, signed.root)) {
        badRoots++;
        if (firstBad === null) firstBad = size;
      } else if (firstBad === null) lastGood = size;
      else {
        // A later checkpoint matching again after a mismatch: the log was changed and changed back? Say so.
        findings.push({ kind: 'checkpoint', checkpoint_size: size, message: `Checkpoint ${size} matches the leaves again after checkpoint ${firstBad} did not` });
      }
      if (!equalHashes(r.root, signed.root))
        findings.push({ kind: 'checkpoint', checkpoint_size: size, message: `Checkpoint ${size}: its root column is not the root it signed (${toBase64(signed.root)})` });
    }
    opts.onProgress?.('checkpoints', count, Number(total[0].n));
  }
  if (firstBad !== null) {
    findings.push({
      kind: 'checkpoint',
      checkpoint_size: firstBad,
      message: `${badRoots} checkpoint${badRoots === 1 ? '' : 's'} from size ${firstBad} on no longer match the leaves: the log was rewritten or reordered between leaf ${lastGood} and leaf ${firstBad - 1}`,
    });
    divergent.push(lastGood);
  }
  return count;
}
