/** One company of a run (`snapshot_job_items`). Its owner is server/runs/job-items.ts. */
import { Model } from 'objection';

export class JobItemRow extends Model {
  static override tableName = 'snapshot_job_items';
  static override get idColumn() {
    return ['job_id', 'account_number'];
  }

  job_id!: string;
  account_number!: string;
  company_name!: string | null;
  position!: number;
  outcome!: string | null;
  error!: string | null;
  attempts!: number;
  duration_ms!: number | null;
  snapshot_id!: number | null;
  invoice_number!: string | null;
  total_amount!: string | null;
  line_item_count!: number | null;
  details!: Record<string, unknown> | null;
  finished_at!: Date | string | null;
}
