/** An archived bill. Rows are append-only: the database refuses UPDATE and DELETE. */
import { Model } from 'objection';
import { LineItem } from './LineItem';

export class Snapshot extends Model {
  static override tableName = 'billing_snapshots';

  id!: number;
  company_account_number!: string;
  company_name!: string | null;
  invoice_number!: string;
  billing_year!: number;
  billing_month!: number;
  invoice_date!: string;
  due_date!: string | null;
  billing_plan!: string | null;
  contract_term!: string | null;
  support_level!: string | null;
  total_amount!: string;
  total_user_charges!: string | null;
  total_asset_charges!: string | null;
  total_backup_charges!: string | null;
  total_ticket_charges!: string | null;
  total_line_item_charges!: string | null;
  user_count!: number | null;
  asset_count!: number | null;
  billable_hours!: string | null;
  billing_data_json!: Record<string, unknown>;
  invoice_csv!: string;
  raw_body!: string | null;
  created_by!: string | null;
  notes!: string | null;
  line_item_count!: number;
  content_hash!: string;
  warnings!: unknown[];
  source!: string;
  archived_at!: Date;
  lineItems?: LineItem[];

  static override relationMappings = () => ({
    lineItems: {
      relation: Model.HasManyRelation,
      modelClass: LineItem,
      join: { from: 'billing_snapshots.id', to: 'snapshot_line_items.snapshot_id' },
    },
  });
}
