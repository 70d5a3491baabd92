/** One line of an archived bill, in the order Ledger sent it (`position`). */
import { Model } from 'objection';

export class LineItem extends Model {
  static override tableName = 'snapshot_line_items';

  id!: number;
  snapshot_id!: number;
  position!: number;
  line_type!: 'user' | 'asset' | 'backup' | 'ticket' | 'custom';
  item_name!: string;
  description!: string | null;
  quantity!: string;
  rate!: string;
  amount!: string;
}
