/** The schedule's one row (`scheduled_snapshots`, id 1). Its owner is server/schedule/store.ts. */
import { Model } from 'objection';

export class ScheduleConfig extends Model {
  static override tableName = 'scheduled_snapshots';

  id!: number;
  enabled!: boolean;
  day_of_month!: string;
  hour!: number;
  timezone!: string | null;
  snapshot_previous_month!: boolean;
  snapshot_all_companies!: boolean;
  account_numbers!: string[];
  last_run_at!: Date | string | null;
  last_run_status!: 'success' | 'partial' | 'failed' | null;
  last_run_count!: number | null;
  last_run_job_id!: string | null;
  last_run_log!: string | null;
  created_at!: Date | string;
  updated_at!: Date | string;
}
