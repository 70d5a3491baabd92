/** One company of a run (`snapshot_job_items`). Its owner is server/runs/job-items.ts. */
import { Model } from 'objection';
import type { JobItem } from '../../shared/runs';

/** The columns: a job item as shared/runs.ts says it, with its job, place and stored times. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- declares the row's columns for the class, nothing else
export interface JobItemRow extends Omit<JobItem, 'finished_at'> {
  job_id: string;
  position: number;
  finished_at: Date | string | null;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class JobItemRow extends Model {
  static override tableName = 'snapshot_job_items';
  static override get idColumn() {
    return ['job_id', 'account_number'];
  }
}
