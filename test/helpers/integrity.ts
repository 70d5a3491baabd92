/** The log in tests: waiting for the sequencer, and tampering as a database superuser would. */
import type { Knex } from 'knex';
import type { IntegrityStatus, VerifyReport } from '../../shared/api';
import { verifyArchive } from '../../server/integrity/verify';
import type { TestServer } from './server';

/** Waits until every archived bill and audit entry is a leaf; resolves with the log's status. */
export async function integrated(server: Pick<TestServer, 'api'>): Promise<IntegrityStatus> {
  for (let i = 0; i < 200; i++) {
    const s: IntegrityStatus = await (await server.api('/api/integrity')).json();
    if (s.queued === 0) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('the log did not integrate its queue');
}

/** `archive verify` after tampering with the triggers off, all of it rolled back afterwards. */
export async function tampered(knex: Knex, verifierKey: string, sql: (trx: Knex.Transaction) => Promise<unknown>): Promise<VerifyReport> {
  let report: VerifyReport | undefined;
  await knex
    .transaction(async (trx) => {
      await trx.raw('SET LOCAL session_replication_role = replica');
      await sql(trx);
      await trx.raw('SET LOCAL session_replication_role = origin');
      report = await verifyArchive(trx, { verifierKey });
      throw new Error('rollback');
    })
    .catch((err: Error) => {
      if (err.message !== 'rollback') throw err;
    });
  return report!;
}
