/** Bulk writes by COPY (server/db/copy.ts): what goes in comes back exactly, in the caller's transaction. */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyBytes, copyEncoded, copyLine, copyRows, copyText } from '../../server/db/copy';
import { openDatabase } from '../../server/db/database';
import { freshDatabase, type TestDatabase } from '../helpers/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase();
  await db.knex.raw('CREATE TABLE copy_probe (id int PRIMARY KEY, t text, j jsonb, at timestamptz, ok boolean, n numeric)');
});
afterAll(() => db?.drop());

describe('copyText', () => {
  it('writes null as \\N and escapes what would split a row or a column', () => {
    expect(copyText(null)).toBe('\\N');
    expect(copyText(undefined)).toBe('\\N');
    expect(copyText('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyText('\\N')).toBe('\\\\N');
    expect(copyText(true)).toBe('t');
    expect(copyText({ a: 'x\ty' })).toBe('{"a":"x\\\\ty"}');
  });
});

describe('copyRows', () => {
  it('stores every value as given, across several chunks, and only if the transaction commits', async () => {
    const tricky = ['plain', 'tab\there', 'new\nline', 'back\\slash', '\\N', 'crlf\r\n', 'ünïcödé 💶', ''];
    const rows = Array.from({ length: 3000 }, (_, i) => [
      i,
      tricky[i % tricky.length] + 'x'.repeat(500),
      { i, s: tricky[i % tricky.length] },
      new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      i % 2 === 0,
      i % 7 === 0 ? null : `${i}.05`,
    ]);
    await db.knex
      .transaction(async (trx) => {
        await copyRows(trx, 'copy_probe', ['id', 't', 'j', 'at', 'ok', 'n'], rows);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    expect(Number((await db.knex('copy_probe').count('* as n'))[0].n)).toBe(0);

    await db.knex.transaction((trx) => copyRows(trx, 'copy_probe', ['id', 't', 'j', 'at', 'ok', 'n'], rows));
    const back = await db.knex('copy_probe').select('id', 't', 'j', 'at', 'ok', db.knex.raw('n::text AS n')).orderBy('id');
    expect(back).toHaveLength(rows.length);
    back.forEach((r, i) => expect([r.id, r.t, r.j, r.at, r.ok, r.n]).toEqual(rows[i]));
  });

  it('refuses a transaction that has ended (its connection would commit the rows on its own)', async () => {
    let ended: Knex.Transaction | undefined;
    await db.knex.transaction(async (trx) => void (ended = trx));
    await expect(copyRows(ended!, 'copy_probe', ['id', 't'], [[-1, 'after the end']])).rejects.toThrow('internal: COPY into copy_probe after its transaction ended');
    expect(await db.knex('copy_probe').where({ id: -1 }).first()).toBeUndefined();
  });

  it('fails the transaction on a row the table refuses', async () => {
    await expect(db.knex.transaction((trx) => copyRows(trx, 'copy_probe', ['id', 't'], [[0, 'duplicate id']]))).rejects.toThrow(/duplicate key/);
  });
});

describe('CopyBytes and copyEncoded', () => {
  it('gather rows as bytes, say where each lies, and write any of them', async () => {
    const bytes = new CopyBytes();
    const rows = Array.from({ length: 400 }, (_, i) => [10_000 + i, `ünï ${i}\t💶`.repeat(50), { i }, null, true, `${i}.00`]);
    const at = rows.map((r) => bytes.write(copyLine(r)));
    const buf = bytes.bytes();
    expect(at[0][0]).toBe(0);
    expect(at[at.length - 1][1]).toBe(buf.length);
    expect(new TextDecoder().decode(buf.subarray(...at[7]))).toBe(copyLine(rows[7]));
    // Every other row: the rest are left out.
    const kept = at.filter((_, i) => i % 2 === 0).map(([s, e]) => buf.subarray(s, e));
    await db.knex.transaction((trx) => copyEncoded(trx, 'copy_probe', ['id', 't', 'j', 'at', 'ok', 'n'], kept));
    const back = await db.knex('copy_probe').where('id', '>=', 10_000).select('id', 't', 'j', 'ok', db.knex.raw('n::text AS n')).orderBy('id');
    expect(back.map((r) => [r.id, r.t, r.j, r.ok, r.n])).toEqual(rows.filter((_, i) => i % 2 === 0).map((r) => [r[0], r[1], r[2], r[4], r[5]]));
  });
});

describe('copyRows on the embedded database', () => {
  it('writes the same rows by multi-row INSERTs', async () => {
    const embedded = await openDatabase({ dataDir: '/nonexistent', inMemory: true });
    try {
      await embedded.knex.raw('CREATE TABLE copy_probe (id int PRIMARY KEY, t text, j jsonb, n numeric)');
      const rows = Array.from({ length: 1200 }, (_, i) => [i, `tab\there ${i}`, { i }, i % 3 === 0 ? null : `${i}.10`]);
      await embedded.knex.transaction((trx) => copyRows(trx, 'copy_probe', ['id', 't', 'j', 'n'], rows));
      const back = await embedded.knex('copy_probe').select('id', 't', 'j', embedded.knex.raw('n::text AS n')).orderBy('id');
      back.forEach((r, i) => expect([r.id, r.t, r.j, r.n]).toEqual(rows[i]));
      expect(back).toHaveLength(rows.length);
      // Rows already encoded go in the same way (read back from COPY's text format).
      const bytes = new CopyBytes();
      bytes.write(copyLine([5000, 'back\\slash\nand\ttab', { k: 'v' }, null]));
      await embedded.knex.transaction((trx) => copyEncoded(trx, 'copy_probe', ['id', 't', 'j', 'n'], [bytes.bytes()]));
      expect(await embedded.knex('copy_probe').where('id', 5000).first()).toEqual({ id: 5000, t: 'back\\slash\nand\ttab', j: { k: 'v' }, n: null });
    } finally {
      await embedded.close();
    }
  });
});
