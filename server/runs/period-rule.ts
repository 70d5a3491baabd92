/**
 * A real run archives for good, so it takes a month only once it has ended in the schedule's
 * zone (the server's when the schedule names none): a future month never, an open one only
 * with a reason (`allowOpenPeriod`). Dry runs are not asked.
 */
import type { Knex } from 'knex';
import { periodText } from '../../shared/period';
import { periodState } from '../../shared/schedule';
import { ArchiveError } from '../errors';
import { zoneOf } from '../schedule/schedule';
import { storedZone } from '../schedule/store';

export async function checkRunPeriod(knex: Knex, serverTz: string, now: Date, req: { year: number; month: number; allowOpenPeriod?: string }): Promise<void> {
  const tz = zoneOf({ timezone: (await storedZone(knex)) ?? null }, serverTz);
  const p = periodState(req.year, req.month, tz, now);
  if (p.state === 'ended') return;
  const period = periodText(req.year, req.month);
  const details = { year: req.year, month: req.month, state: p.state, timezone: tz, ends_at: p.ends_at.toISOString() };
  if (p.state === 'future') {
    throw new ArchiveError(
      'period_not_ended',
      `${period} has not begun yet (in ${tz}); a real run archives only months that have ended, so it cannot run for ${period} before ${p.ends_at.toISOString()}. A dry run shows what Ledger would bill.`,
      details,
    );
  }
  if (!req.allowOpenPeriod) {
    throw new ArchiveError(
      'period_not_ended',
      `${period} has not ended yet (it ends ${p.ends_at.toISOString()}, in ${tz}): its bills are still provisional, and an archived bill is kept for good, so Ledger's final bill would be refused. Run it after the month ends, use a dry run, or say why with allow_open_period and a reason.`,
      details,
    );
  }
}
