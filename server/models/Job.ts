/** A run (`snapshot_jobs`). Its owner is server/runs/job-store.ts; the list filters are its modifiers. */
import { Model, type QueryBuilder } from 'objection';

export class Job extends Model {
  static override tableName = 'snapshot_jobs';

  id!: string;
  codex_entries_without_account!: number;

  static override modifiers = {
    /** The jobs list's filters: status, type (`run` or `dry_run`), year, month. */
    filtered(q: QueryBuilder<Job>, f: { status?: string; type?: string; year?: number; month?: number }) {
      if (f.status) q.where('status', f.status);
      if (f.type) q.where('dry_run', f.type === 'dry_run');
      if (f.year) q.where('target_year', f.year);
      if (f.month) q.where('target_month', f.month);
    },
  };
}
