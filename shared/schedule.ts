/**
 * Due times of the schedule (docs/contract.md section 3): day 1-28 or `last`, an hour, read in a
 * time zone. Pure and browser-safe: the server arms its timer with these, the CLI decides
 * "is a run due?" with them, and the desktop app previews the next run while editing.
 */
export interface DueRule {
  day_of_month: string;
  hour: number;
}

/** The wall-clock parts of an instant in a zone. */
function zonedParts(ms: number, tz: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(ms));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

function offsetMs(ms: number, tz: string): number {
  const p = zonedParts(ms, tz);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

/** The instant when the wall clock in `tz` shows year-month-day hour:00. */
export function zonedTime(year: number, month: number, day: number, hour: number, tz: string): Date {
  const guess = Date.UTC(year, month - 1, day, hour);
  const first = guess - offsetMs(guess, tz);
  const second = guess - offsetMs(first, tz);
  return new Date(second);
}

const daysIn = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

function dueIn(row: DueRule, year: number, month: number, tz: string): Date {
  const day = row.day_of_month === 'last' ? daysIn(year, month) : Number(row.day_of_month);
  return zonedTime(year, month, day, row.hour, tz);
}

function addMonths(year: number, month: number, k: number): [number, number] {
  const i = year * 12 + (month - 1) + k;
  return [Math.floor(i / 12), (i % 12) + 1];
}

/** The first due time strictly after `from`. */
export function nextDue(row: DueRule, tz: string, from: Date): Date {
  const p = zonedParts(from.getTime(), tz);
  for (let k = 0; k < 3; k++) {
    const [y, m] = addMonths(p.year, p.month, k);
    const t = dueIn(row, y, m, tz);
    if (t.getTime() > from.getTime()) return t;
  }
  throw new Error('no due time found'); // unreachable: every month has one
}

/** The last due time at or before `at`. */
export function previousDue(row: DueRule, tz: string, at: Date): Date {
  const p = zonedParts(at.getTime(), tz);
  for (let k = 0; k > -3; k--) {
    const [y, m] = addMonths(p.year, p.month, k);
    const t = dueIn(row, y, m, tz);
    if (t.getTime() <= at.getTime()) return t;
  }
  throw new Error('no due time found');
}

/** The month a run fired at `due` archives: the one that just ended, or the current one. */
export function periodFor(due: Date, tz: string, previousMonth: boolean): { year: number; month: number } {
  const p = zonedParts(due.getTime(), tz);
  const [year, month] = previousMonth ? addMonths(p.year, p.month, -1) : [p.year, p.month];
  return { year, month };
}

export type PeriodState = 'ended' | 'open' | 'future';

/**
 * Where a month stands at `now` in zone `tz`: `ended` once its last day is over there, `open`
 * while it runs (its bills are still provisional), `future` before it starts. A real run
 * archives for good, so it takes only ended months unless told otherwise.
 */
export function periodState(year: number, month: number, tz: string, now: Date): { state: PeriodState; starts_at: Date; ends_at: Date } {
  const starts_at = zonedTime(year, month, 1, 0, tz);
  const [ny, nm] = addMonths(year, month, 1);
  const ends_at = zonedTime(ny, nm, 1, 0, tz);
  const state: PeriodState = now.getTime() >= ends_at.getTime() ? 'ended' : now.getTime() >= starts_at.getTime() ? 'open' : 'future';
  return { state, starts_at, ends_at };
}
