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
import { ArchiveError } from '../errors';
import { insertPrepared, type PreparedSnapshot } from '../snapshots/archive';
import { toItem } from './jobs';
import { cleanText } from '../../shared/storable';

export interface ItemValues {
  account_number: string;
  company_name: string | null;
  outcome: NonNullable<JobItem['outcome']>;
  error: string | null;
  attempts: number;
  duration_ms: number;
  snapshot_id: number | null;
  invoice_number: string | null;
  total_amount: string | null;
  line_item_count: number | null;
  details: Record<string, unknown> | null;
  finished_at: Date;
}

/** A company's new details, keeping what a resume left there (its earlier failures). */
const MERGE_DETAILS = (current: string, incoming: string) =>
  `(SELECT CASE WHEN jsonb_exists(v.c, 'earlier_failures') THEN coalesce(v.i, '{}'::jsonb) || jsonb_build_object('earlier_failures', v.c -> 'earlier_failures') ELSE v.i END
      FROM (SELECT ${current} AS c, ${incoming} AS i) v)`;

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
    const alongside = {
      sql: `UPDATE snapshot_job_items SET outcome = ?, error = ?, attempts = ?, duration_ms = ?, snapshot_id = (SELECT id FROM s),
              invoice_number = ?, total_amount = ?, line_item_count = ?, details = ${MERGE_DETAILS('details', '?::jsonb')}, finished_at = ?, company_name = coalesce(?, company_name)
            WHERE job_id = ? AND account_number = ?`,
      bindings: [
        values.outcome,
        values.error,
        values.attempts,
        values.duration_ms,
        values.invoice_number,
        values.total_amount,
        values.line_item_count,
        json(values.details),
        values.finished_at,
        values.company_name,
        this.jobId,
        values.account_number,
      ],
    };
    try {
      const created = await insertPrepared(this.knex, prepared, { source: 'run', rawBody, alongside });
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

  private updateItems(batch: ItemValues[]): Promise<void> {
    const rows = batch.map((v) => ({ ...v, finished_at: v.finished_at.toISOString() }));
    return this.knex
      .raw(
        `UPDATE snapshot_job_items AS t
              SET outcome = x.outcome, error = x.error, attempts = x.attempts, duration_ms = x.duration_ms, snapshot_id = x.snapshot_id,
                  invoice_number = x.invoice_number, total_amount = x.total_amount, line_item_count = x.line_item_count, details = ${MERGE_DETAILS('t.details', 'x.details')},
                  finished_at = x.finished_at, company_name = coalesce(x.company_name, t.company_name)
             FROM jsonb_to_recordset(?::jsonb) AS x(account_number text, company_name text, outcome text, error text, attempts int, duration_ms int,
                  snapshot_id bigint, invoice_number text, total_amount numeric, line_item_count int, details jsonb, finished_at timestamptz)
            WHERE t.job_id = ? AND t.account_number = x.account_number AND t.outcome IS NULL
            RETURNING t.account_number`,
        [JSON.stringify(rows), this.jobId],
      )
      .then((r: { rows: { account_number: string }[] }) => {
        const written = new Set(r.rows.map((x) => x.account_number));
        for (const values of batch) if (written.has(values.account_number)) this.onRecorded(toItem(values));
      });
  }
}

/**
 * An error about what a statement holds (SQLSTATE classes 22 data exception and 23 integrity,
 * 54 program limits), not about the connection or the server: retrying another row may work.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)[0-9A-Z]{3}$/.test(code);
}

function json(v: unknown): string | null {
  return v === null || v === undefined ? null : JSON.stringify(v);
}
