/** One line of an archived bill, in the order Ledger sent it (`position`). */
import { Model } from 'objection';
import type { BillLine } from '../../shared/api';

/** The columns: a bill's line as shared/api.ts says it, with its place. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- declares the row's columns for the class, nothing else
export interface LineItem extends BillLine {
  id: number;
  snapshot_id: number;
  position: number;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class LineItem extends Model {
  static override tableName = 'snapshot_line_items';
}
