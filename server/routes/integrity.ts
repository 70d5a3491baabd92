/**
 * The tamper-evident log, served: the latest signed checkpoint (C2SP note, text/plain), any
 * stored checkpoint by size (immutable, cacheable), the verifier key, inclusion and
 * consistency proofs, the log at a glance, and (admin) a full verification.
 */
import { ConsistencyQuery, InclusionQuery, type IntegrityStatus } from '../../shared/api';
import type { AppDeps } from '../deps';
import { ArchiveError, parseOrThrow, validationError } from '../errors';
import { singleValued } from '../http/query';
import { checkpointInfo, consistencyProof, inclusionProof, latestCheckpoint, leafOfSnapshot, queueState, signedCheckpoint } from '../integrity/log';
import { verifyArchive } from '../integrity/verify';
import { getSnapshotColumns } from '../snapshots/read';
import { get, post, type Route } from './table';
import { recordAudit } from '../audit/trail';
import { auditContext } from './audit';

export function integrityRoutes(deps: AppDeps): Route[] {
  return [
    get('/api/integrity', 'read', async (ctx) => {
      const [last, queue] = await Promise.all([latestCheckpoint(deps.knex), queueState(deps.knex)]);
      if (!last) throw new ArchiveError('not_found', 'The log has no checkpoint yet');
      const s = deps.integrity.sequencer.status();
      ctx.body = {
        origin: deps.integrity.signer.name,
        verifier_key: deps.integrity.signer.verifierKey,
        checkpoint: checkpointInfo(last),
        ...queue,
        sequencer: { state: s.state, reason: s.reason },
      } satisfies IntegrityStatus;
    }),

    get('/api/integrity/checkpoint', 'read', async (ctx) => {
      const last = await latestCheckpoint(deps.knex);
      if (!last) throw new ArchiveError('not_found', 'The log has no checkpoint yet');
      ctx.type = 'text/plain; charset=utf-8';
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = last.note;
    }),

    get('/api/integrity/checkpoints/:size', 'read', async (ctx) => {
      const size = (ctx.params as Record<string, string>).size;
      if (!/^(0|[1-9]\d{0,15})$/.test(size)) throw validationError([{ field: 'size', reason: 'must be a tree size (a whole number)' }], 'checkpoint size');
      const c = await signedCheckpoint(deps.knex, Number(size));
      ctx.type = 'text/plain; charset=utf-8';
      // A signed checkpoint never changes.
      ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
      ctx.body = c.note;
    }),

    get('/api/integrity/key', 'read', (ctx) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `${deps.integrity.signer.verifierKey}\n`;
    }),

    get('/api/integrity/inclusion', 'read', async (ctx) => {
      const q = parseOrThrow(InclusionQuery, singleValued(ctx.query), 'query');
      let index = q.leaf_index;
      if (q.invoice_number !== undefined) {
        const { id } = await getSnapshotColumns(deps.knex, q.invoice_number, ['id'], q.revision);
        const leaf = await leafOfSnapshot(deps.knex, id);
        if (!leaf) throw new ArchiveError('not_found', `Invoice ${q.invoice_number} is not in the log (not archived, or queued for a few seconds)`, { invoice_number: q.invoice_number });
        index = leaf.leaf_index;
      }
      ctx.body = await inclusionProof(deps.knex, index!, q.tree_size);
    }),

    get('/api/integrity/consistency', 'read', async (ctx) => {
      const q = parseOrThrow(ConsistencyQuery, singleValued(ctx.query), 'query');
      ctx.body = await consistencyProof(deps.knex, q.from, q.to);
    }),

    post('/api/integrity/verify', 'admin', async (ctx) => {
      const report = await verifyArchive(deps.knex, { verifierKey: deps.integrity.signer.verifierKey });
      await recordAudit(deps.knex, { ...auditContext(ctx), action: 'verify.run', details: { ok: report.ok, bills: report.bills, findings: report.findings.length } });
      ctx.body = report;
    }),
  ];
}
