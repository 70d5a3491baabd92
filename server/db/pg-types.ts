/**
 * How PostgreSQL's values become JavaScript, the same on every connection: dates as
 * 'YYYY-MM-DD' text, not a Date at local midnight; bigint as a number (ids and counts stay far
 * below 2^53). numeric stays text, as the drivers give it. node-postgres takes them once per
 * thread (each worker thread has its own `pg` module); the embedded database per instance.
 */
import pg from 'pg';

const DATE_OID = 1082;
const INT8_OID = 20;

export const TYPE_PARSERS: Record<number, (v: string) => unknown> = {
  [DATE_OID]: (v: string) => v,
  [INT8_OID]: (v: string) => Number(v),
};

export function setPgTypes(): void {
  for (const [oid, parse] of Object.entries(TYPE_PARSERS)) pg.types.setTypeParser(Number(oid), parse);
}
