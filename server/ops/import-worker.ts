/** The worker threads' task (piscina) for `archive import-legacy`: see legacy-bill.ts. The batch's bytes are moved to the main thread, not copied. */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { prepareLegacyBatch, type PrepareLegacyTask } from './legacy-bill';

export default async function prepare(task: PrepareLegacyTask) {
  const batch = await prepareLegacyBatch(task);
  return move({ [transferableSymbol]: [batch.bills.buffer, batch.lines.buffer], [valueSymbol]: batch });
}
