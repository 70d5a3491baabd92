/**
 * The one sequencer of the log. Archiving a bill only queues its leaf (in the same statement,
 * by trigger); the sequencer, a few times a second, takes the queued leaves that have
 * committed, in queue order, gives them the next positions, stores the subtrees they complete
 * and a signed checkpoint of the new size: one transaction, under an advisory lock, so two
 * servers on one database never integrate at once and a crash leaves either all of a batch or
 * none of it. Ingest never waits for it.
 *
 * Before it signs, it checks that the stored tree still has the root of the last checkpoint
 * and as many leaves: a tree changed behind its back is never signed again (the log never
 * signs two inconsistent checkpoints); it stops and says so until `archive verify` has been
 * read and the tree restored.
 */
import type { Knex } from 'knex';
import { equalHashes, toBase64 } from '../../shared/merkle';
import { parseVerifierKey, verifyCheckpoint, type VerifierKey } from '../../shared/signed-note';
import { StartupError } from '../startup-error';
import type { Logger } from '../log';
import { latestCheckpoint, readNodes } from './log';
import type { Signer } from './signer';
import { EMPTY_ROOT, append, evaluate, frontier, leafHashSync, rootRange, type NodeKey } from './tree';

/** pg_advisory_xact_lock key of the sequencer ("arch" in ASCII). */
export const SEQUENCER_LOCK = 0x61726368;

export class LogBrokenError extends Error {}

export interface SequencerStatus {
  state: 'ok' | 'broken';
  reason: string | null;
  size: number;
  last_integrated_at: string | null;
}

export interface SequencerOptions {
  knex: Knex;
  signer: Signer;
  log: Logger;
  /** How often the queue is looked at (ms). */
  intervalMs: number;
  /** Most leaves per transaction. */
  batchSize?: number;
}

export class Sequencer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private stopped = false;
  private broken: string | null = null;
  private size = 0;
  private lastIntegratedAt: Date | null = null;
  /** The last checkpoint this process signed or saw: the database may not show less. */
  private head: Head | null = null;
  private key: Promise<VerifierKey> | undefined;

  constructor(private readonly o: SequencerOptions) {}

  /** Signs the empty tree on a new log, then integrates every interval. */
  async start(): Promise<void> {
    await this.signEmptyTree();
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  status(): SequencerStatus {
    return { state: this.broken ? 'broken' : 'ok', reason: this.broken, size: this.size, last_integrated_at: this.lastIntegratedAt?.toISOString() ?? null };
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.integrate();
      this.running.then(
        (n) => this.schedule(n >= (this.o.batchSize ?? 2000) ? 0 : this.o.intervalMs),
        (err) => {
          if (err instanceof LogBrokenError) {
            if (this.broken !== err.message) this.o.log.error({ reason: err.message }, 'the integrity log is inconsistent with its last checkpoint: nothing more is signed; run `archive verify`');
            this.broken = err.message;
          } else this.o.log.warn({ err }, 'could not integrate new leaves into the log; trying again');
          this.schedule(Math.max(this.o.intervalMs, 1000));
        },
      );
    }, ms);
    this.timer.unref();
  }

  private async signEmptyTree(): Promise<void> {
    await this.o.knex.transaction(async (trx) => {
      await trx.raw('SELECT pg_advisory_xact_lock(?)', [SEQUENCER_LOCK]);
      const last = await latestCheckpoint(trx);
      if (last && last.verifier_key !== this.o.signer.verifierKey) {
        throw new StartupError(`This log was started by another server with another signing key (${last.verifier_key}); give every server of one database the same key file.`);
      }
      if (last) return;
      await trx('log_checkpoints').insert({ size: 0, root: EMPTY_ROOT, note: this.o.signer.checkpoint(0, EMPTY_ROOT), verifier_key: this.o.signer.verifierKey });
    });
  }

  /** One batch: resolves with the number of leaves integrated (0 when another server holds the lock). */
  async integrate(): Promise<number> {
    const batch = this.o.batchSize ?? 2000;
    let signed: Head | null = null;
    const done = await this.o.knex.transaction(async (trx) => {
      const { rows: lock } = await trx.raw('SELECT pg_try_advisory_xact_lock(?) AS ok', [SEQUENCER_LOCK]);
      if (!lock[0].ok) return 0;
      const last = await latestCheckpoint(trx);
      if (!last) throw new LogBrokenError('the log has no checkpoint, not even of the empty tree');
      await this.checkHead(last);
      this.size = last.size;
      const { rows: queue } = await trx.raw(
        `SELECT q.id, q.kind, q.ref_id, q.data, q.queued_at, l.idx IS NOT NULL AS done
           FROM log_queue q LEFT JOIN log_leaves l ON l.kind = q.kind AND l.ref_id = q.ref_id
          ORDER BY q.id LIMIT ?`,
        [batch],
      );
      if (queue.length === 0) return 0;
      const known = await this.checkedFrontier(trx, last.size, last.root);

      const seen = new Set<string>();
      const fresh = (queue as QueueRow[]).filter((q) => {
        const key = `${q.kind}/${q.ref_id}`;
        if (q.done || seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      const leaves = fresh.map((q) => ({ ...q, hash: leafHashSync(q.data) }));
      const grown = append(
        last.size,
        known,
        leaves.map((l) => l.hash),
      );
      if (leaves.length > 0) {
        await trx.raw(
          `INSERT INTO log_leaves (idx, kind, ref_id, data, hash, queued_at)
           SELECT x.idx, x.kind, x.ref_id, decode(x.data, 'hex'), decode(x.hash, 'hex'), x.queued_at
             FROM jsonb_to_recordset(?::jsonb) AS x(idx bigint, kind text, ref_id bigint, data text, hash text, queued_at timestamptz)`,
          [
            JSON.stringify(
              leaves.map((l, i) => ({ idx: last.size + i, kind: l.kind, ref_id: Number(l.ref_id), data: Buffer.from(l.data).toString('hex'), hash: l.hash.toString('hex'), queued_at: l.queued_at })),
            ),
          ],
        );
        await trx.raw(
          `INSERT INTO log_nodes (level, idx, hash)
           SELECT x.level, x.idx, decode(x.hash, 'hex') FROM jsonb_to_recordset(?::jsonb) AS x(level smallint, idx bigint, hash text)`,
          [
            JSON.stringify(
              [...grown.nodes]
                .map(([k, h]) => ({ level: Number(k.split('/')[0]), idx: Number(k.split('/')[1]), hash: Buffer.from(h).toString('hex') }))
                // Level 0 is the leaves themselves (log_leaves.hash).
                .filter((n) => n.level > 0),
            ),
          ],
        );
        const note = this.o.signer.checkpoint(grown.size, grown.root);
        await trx('log_checkpoints').insert({ size: grown.size, root: Buffer.from(grown.root), note, verifier_key: this.o.signer.verifierKey });
        signed = { size: grown.size, root: Buffer.from(grown.root), note };
      }
      await trx.raw('DELETE FROM log_queue WHERE id = ANY(?::bigint[])', [`{${(queue as QueueRow[]).map((q) => q.id).join(',')}}`]);
      this.size = grown.size;
      return leaves.length;
    });
    if (signed) this.head = signed;
    if (done > 0) this.lastIntegratedAt = new Date();
    this.broken = null;
    return done;
  }

  /**
   * The last checkpoint as the database shows it: signed by this log's key (its note, not the
   * columns beside it, says size and root), and never less than this process signed or saw.
   */
  private async checkHead(last: Head & { verifier_key: string }): Promise<void> {
    if (last.verifier_key !== this.o.signer.verifierKey) throw new LogBrokenError(`the last checkpoint was signed with another key (${last.verifier_key})`);
    // The checkpoint this process signed or checked last, unchanged: nothing to verify again.
    if (this.head && this.head.note === last.note && this.head.size === last.size && equalHashes(this.head.root, last.root)) return;
    let signed;
    try {
      signed = await verifyCheckpoint(last.note, [await (this.key ??= parseVerifierKey(this.o.signer.verifierKey))]);
    } catch (err) {
      throw new LogBrokenError(`the last checkpoint (size ${last.size}) is not signed by this log's key: ${(err as Error).message}`);
    }
    if (signed.size !== last.size || !equalHashes(signed.root, last.root)) throw new LogBrokenError(`the last checkpoint's size or root column differs from what it signed (size ${signed.size})`);
    if (this.head && (last.size < this.head.size || (last.size === this.head.size && !equalHashes(last.root, this.head.root)))) {
      throw new LogBrokenError(`the log now ends at size ${last.size}, but this server signed size ${this.head.size}: checkpoints were removed or replaced`);
    }
    this.head = { size: last.size, root: last.root, note: last.note };
  }

  /**
   * The frontier of the signed tree, checked: the stored nodes must give the last checkpoint's
   * root, and the leaves must end where it ends.
   */
  private async checkedFrontier(trx: Knex.Transaction, size: number, root: Uint8Array): Promise<Map<NodeKey, Uint8Array>> {
    const keys = frontier(size);
    const known = await readNodes(trx, keys);
    const { rows } = await trx.raw('SELECT coalesce(max(idx) + 1, 0) AS leaves FROM log_leaves');
    const leaves = Number(rows[0].leaves);
    if (leaves !== size) throw new LogBrokenError(`the log holds ${leaves} leaves but its last checkpoint was signed for ${size}`);
    if (size === 0) return known;
    const missing = keys.filter((k) => !known.has(k));
    if (missing.length > 0) throw new LogBrokenError(`the tree is missing node${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of the last checkpoint (size ${size})`);
    const computed = evaluate(rootRange(size), known);
    if (!equalHashes(computed, root)) throw new LogBrokenError(`the stored tree of size ${size} has the root ${toBase64(computed)}, not the signed ${toBase64(root)}`);
    return known;
  }
}

/** A signed checkpoint: its size, root and note. */
interface Head {
  size: number;
  root: Buffer;
  note: string;
}

interface QueueRow {
  id: number | string;
  kind: string;
  ref_id: number | string;
  data: Buffer;
  queued_at: Date;
  done: boolean;
}
