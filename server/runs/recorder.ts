/**
 * Writing a run's outcomes without holding up the Ledger calls. A worker hands each finished
 * company here and goes on to the next fetch:
 * - an archived bill is one statement that inserts the snapshot, its lines and the
 *   company's outcome together (its own transaction), a few at a time;
 * - every other outcome waits a moment and is written with others in one UPDATE.
 * A company counts as done (counters, events) only once its outcome is in the database, so
 * what a crash loses is exactly the companies a resumed run takes up again.
 */
import type { Knex } from 'knex';
import type { JobItem } from '../../shared/runs';
import { ArchiveError, driverError } from '../errors';
import { insertPrepared, type PreparedSnapshot } from '../snapshots/archive';
import { outcomeAlongsideSnapshot, recordOutcomes, type ItemValues } from './job-items';
import { toItem } from './jobs';
import { cleanText } from '../../shared/storable';
import { periodText } from '../../shared/period';
import { auditCte } from '../audit/trail';

export type { ItemValues } from './job-items';

const BATCH = 100;
const BATCH_WAIT_MS = 50;
const ARCHIVE_WRITERS = 4;

export class Recorder {
  private batch: ItemValues[] = [];
  private batchTimer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<unknown>>();
  private archiving = 0;
  private archiveQueue: (() => void)[] = [];
  error: unknown;

  constructor(
    private readonly knex: Knex,
    private readonly jobId: string,
    /** Who started the run (a token's name, or `schedule`): the audit trail's actor of its bills. */
    private readonly actor: string,
    private readonly onRecorded: (item: JobItem) => void,
    /** An archive that met a bill archived meanwhile: the engine compares and records that instead. */
    private readonly onDuplicate: (values: ItemValues, prepared: PreparedSnapshot) => Promise<ItemValues>,
  ) {}

  /** Any outcome but a new snapshot: written in the next batch. */
  plain(values: ItemValues): void {
    this.batch.push(values);
    if (this.batch.length >= BATCH) this.flushBatch();
    else this.batchTimer ??= setTimeout(() => this.flushBatch(), BATCH_WAIT_MS);
  }

  /** A new snapshot and its outcome in one statement. Waits only when too many writes are queued. */
  async archive(values: ItemValues, prepared: PreparedSnapshot, rawBody: string): Promise<void> {
    while (this.archiving >= ARCHIVE_WRITERS * 2) await new Promise<void>((r) => this.archiveQueue.push(r));
    this.archiving++;
    this.track(
      this.writeArchive(values, prepared, rawBody).finally(() => {
        this.archiving--;
        this.archiveQueue.shift()?.();
      }),
    );
  }

  /** Waits until every outcome handed over is written (or has failed). */
  async drain(): Promise<void> {
    this.flushBatch();
    while (this.inFlight.size || this.batch.length) {
      await Promise.allSettled([...this.inFlight]);
      this.flushBatch();
    }
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch((err) => {
      this.error ??= err;
    });
    this.inFlight.add(t);
    void t.finally(() => this.inFlight.delete(t));
  }

  private async writeArchive(values: ItemValues, prepared: PreparedSnapshot, rawBody: string): Promise<void> {
    const audit = auditCte({
      actor: this.actor,
      action: 'bill.archived',
      subject: prepared.row.invoice_number,
      period: periodText(prepared.row.billing_year, prepared.row.billing_month),
      details: { source: 'run', job_id: this.jobId, content_hash: prepared.contentHash },
    });
    try {
      const created = await insertPrepared(this.knex, prepared, { source: 'run', rawBody, alongside: [outcomeAlongsideSnapshot(this.jobId, values), audit] });
      this.onRecorded(toItem({ ...values, snapshot_id: created.snapshot_id }));
    } catch (err) {
      if (err instanceof ArchiveError && err.code === 'already_archived') {
        this.plain(await this.onDuplicate(values, prepared));
        return;
      }
      // The database refused this one bill (not the connection): the company fails alone.
      if (isDataError(err)) {
        this.plain({ ...values, outcome: 'failed', error: cleanText(`The database refused this bill: ${(err as Error).message}`), snapshot_id: null, details: null });
        return;
      }
      throw err;
    }
  }

  private flushBatch(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.track(this.writeBatch(batch));
  }

  /**
   * One UPDATE for the batch. When the database refuses it for what one row holds, each company
   * is written alone, and one it still refuses is recorded as failed with the reason, so a
   * single odd outcome never stops a run (nor its resume).
   */
  private async writeBatch(batch: ItemValues[]): Promise<void> {
    try {
      await this.updateItems(batch);
    } catch (err) {
      if (!isDataError(err)) throw err;
      if (batch.length > 1) {
        for (const values of batch) await this.writeBatch([values]);
        return;
      }
      const [values] = batch;
      if (values.outcome === 'failed' && values.details === null && values.error?.startsWith('Could not record')) throw err;
      await this.writeBatch([
        {
          ...values,
          outcome: 'failed',
          error: cleanText(`Could not record this company's outcome (${values.outcome}): ${(err as Error).message}`),
          details: null,
          snapshot_id: null,
          company_name: null,
        },
      ]);
    }
  }

  private async updateItems(batch: ItemValues[]): Promise<void> {
    const written = await recordOutcomes(this.knex, this.jobId, batch);
    for (const values of batch) if (written.has(values.account_number)) this.onRecorded(toItem(values));
  }
}

/**
 * An error about what a statement holds (SQLSTATE classes 22 data exception and 23 integrity,
 * 54 program limits), not about the connection or the server: retrying another row may work.
 */
export function isDataError(err: unknown): boolean {
  const code = (driverError(err) as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}
