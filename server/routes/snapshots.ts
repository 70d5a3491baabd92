/** One bill: Ledger's post, reading it back (any revision), its files, the raw evidence, and an admin's corrections. */
import type Koa from 'koa';
import bodyParser from 'koa-bodyparser';
import { CorrectionPost, CorrectionPreviewPost, INVOICE_NUMBER, INVOICE_NUMBER_RULE, RevisionQuery } from '../../shared/api';
import { asciiFileName, billFileName, type BillFileKind } from '../../shared/files';
import type { AppDeps } from '../deps';
import { ArchiveError, parseOrThrow, validationError } from '../errors';
import { singleValued } from '../http/query';
import { archiveCorrection, previewCorrection, type CorrectionDeps } from '../snapshots/corrections';
import { withCorrectionNote } from '../snapshots/csv-note';
import { archiveSnapshot } from '../snapshots/archive';
import { checkSnapshotPost } from '../snapshots/validate';
import { EMPTY_BODY } from '../http/errors';
import { getBillCsv, getSnapshotColumns, getSnapshotDetail, nameIsShared } from '../snapshots/read';
import { billLogState, evidenceBundle } from '../integrity/bundle';
import { get, post, type Route } from './table';
import { auditCte, recordAudit } from '../audit/trail';
import { auditContext } from './audit';
import { periodText } from '../../shared/period';

export function snapshotRoutes(deps: AppDeps): Route[] {
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: deps.bodyLimit, strict: true });
  /** A bill's file served: in the audit trail, with who asked. */
  const recordExport = (ctx: Koa.Context, action: 'export.csv' | 'export.pdf' | 'export.bundle', b: { invoice_number: string; billing_year: number; billing_month: number; revision: number }) =>
    recordAudit(deps.knex, { ...auditContext(ctx), action, subject: b.invoice_number, period: periodText(b.billing_year, b.billing_month), details: { revision: b.revision } });
  const corrections: CorrectionDeps = {
    knex: deps.knex,
    tolerance: deps.totalsTolerance,
    refetch: (...args) => {
      if (!deps.engine) throw new ArchiveError('dependency_unavailable', 'This server does not talk to Ledger (no run engine); post the corrected bill instead');
      return deps.engine.refetch(...args);
    },
  };

  return [
    post('/api/snapshot', 'ingest', requireJson, json, async (ctx) => {
      if (!ctx.request.rawBody?.trim()) throw EMPTY_BODY();
      const checked = checkSnapshotPost(ctx.request.body);
      if (!checked.ok) throw validationError(checked.fields, 'snapshot');
      const post = checked.post;
      // Everything that can fail happens before the insert commits: after it, only assignments.
      const location = `/api/snapshot/${encodeURIComponent(post.invoice_number)}`;
      const audit = auditCte({
        ...auditContext(ctx),
        action: 'bill.archived',
        subject: post.invoice_number,
        period: periodText(post.billing_year, post.billing_month),
        details: { source: 'ledger_post' },
      });
      const created = await archiveSnapshot(deps.knex, post, { tolerance: deps.totalsTolerance, rawBody: ctx.request.rawBody, source: 'ledger_post', alongside: [audit] });
      ctx.status = 201;
      ctx.set('Location', location);
      ctx.body = created;
      ctx.state.log?.info({ invoice_number: created.invoice_number, snapshot_id: created.snapshot_id, warnings: created.warnings.length }, 'bill archived');
    }),

    // What a correction would change, line by line: nothing is archived.
    post('/api/snapshot/:invoice_number/corrections/preview', 'admin', requireJson, json, async (ctx) => {
      const input = parseOrThrow(CorrectionPreviewPost, ctx.request.body, 'correction');
      ctx.body = (await previewCorrection(corrections, invoiceOf(ctx), input, auditContext(ctx))).preview;
    }),

    post('/api/snapshot/:invoice_number/corrections', 'admin', requireJson, json, async (ctx) => {
      if (!ctx.request.rawBody?.trim()) throw EMPTY_BODY();
      const input = parseOrThrow(CorrectionPost, ctx.request.body, 'correction');
      const created = await archiveCorrection(corrections, invoiceOf(ctx), input, auditContext(ctx), ctx.request.rawBody);
      ctx.status = 201;
      ctx.set('Location', `/api/snapshot/${encodeURIComponent(created.invoice_number)}?revision=${created.revision}`);
      ctx.body = created;
      ctx.state.log?.info({ invoice_number: created.invoice_number, revision: created.revision, snapshot_id: created.snapshot_id }, 'correction archived');
    }),

    get('/api/snapshot/:invoice_number', 'read', async (ctx) => {
      ctx.body = await deps.reads((k) => getSnapshotDetail(k, invoiceOf(ctx), revisionOf(ctx)));
    }),

    get('/api/snapshot/:invoice_number/csv', 'read', async (ctx) => {
      const s = await deps.reads((k) => getBillCsv(k, invoiceOf(ctx), revisionOf(ctx)));
      await recordExport(ctx, 'export.csv', s);
      attachBill(ctx, s, 'csv', s.name_shared);
      ctx.type = 'text/csv; charset=utf-8';
      ctx.body = withCorrectionNote(s);
    }),

    // The bill as a PDF: the one renderer, for the desktop's exports too.
    get('/api/snapshot/:invoice_number/pdf', 'read', async (ctx) => {
      const { bill, log, withAccount } = await deps.reads(async (k) => {
        const bill = await getSnapshotDetail(k, invoiceOf(ctx), revisionOf(ctx));
        const [log, withAccount] = await Promise.all([billLogState(k, bill.id), nameIsShared(k, bill.company_name, bill.company_account_number)]);
        return { bill, log, withAccount };
      });
      const pdf = await deps.pdf.render({ ...bill, log });
      await recordExport(ctx, 'export.pdf', bill);
      attachBill(ctx, bill, 'pdf', withAccount);
      ctx.type = 'application/pdf';
      ctx.body = pdf;
    }),

    // Everything an auditor needs to check the bill offline with the log's verifier key.
    get('/api/snapshot/:invoice_number/bundle', 'read', async (ctx) => {
      const bill = await getSnapshotDetail(deps.knex, invoiceOf(ctx), revisionOf(ctx));
      const [bundle, withAccount] = await Promise.all([evidenceBundle(deps.knex, bill, deps.integrity.signer.verifierKey), nameIsShared(deps.knex, bill.company_name, bill.company_account_number)]);
      await recordExport(ctx, 'export.bundle', bill);
      attachBill(ctx, bill, 'evidence.json', withAccount);
      ctx.body = bundle;
    }),

    get('/api/snapshot/:invoice_number/log', 'read', async (ctx) => {
      ctx.body = await deps.reads(async (k) => billLogState(k, (await getSnapshotColumns(k, invoiceOf(ctx), ['id'], revisionOf(ctx))).id));
    }),

    // The body exactly as Ledger posted it: the evidence behind every normalised number.
    get('/api/snapshot/:invoice_number/raw', 'read', async (ctx) => {
      const s = await deps.reads((k) => getSnapshotColumns(k, invoiceOf(ctx), ['raw_body'], revisionOf(ctx)));
      if (s.raw_body === null) throw new ArchiveError('not_found', 'This bill was not posted by Ledger, so there is no raw body', { invoice_number: invoiceOf(ctx) });
      ctx.type = 'application/json; charset=utf-8';
      ctx.body = s.raw_body;
    }),
  ];
}

/** The invoice number of the path; one outside the rule of invoice numbers cannot name a bill. */
function invoiceOf(ctx: Koa.Context): string {
  const invoice = (ctx.params as Record<string, string>).invoice_number;
  if (!INVOICE_NUMBER.test(invoice)) throw validationError([{ field: 'invoice_number', reason: INVOICE_NUMBER_RULE }], 'invoice number');
  return invoice;
}

/** The revision asked for (`?revision=N`); the latest when none is. */
function revisionOf(ctx: Koa.Context): number | undefined {
  return parseOrThrow(RevisionQuery, singleValued(ctx.query), 'query').revision;
}

/** The bill's file name for the download: the exact one in filename*, an ASCII fallback for old clients (RFC 6266). */
function attachBill(
  ctx: Koa.Context,
  b: { company_name: string | null; company_account_number: string; billing_year: number; billing_month: number; revision: number },
  ext: BillFileKind,
  withAccount: boolean,
): void {
  const fileName = billFileName(b.company_name, b.company_account_number, b.billing_year, b.billing_month, ext, { withAccount, revision: b.revision });
  ctx.attachment(fileName, { fallback: asciiFileName(fileName) });
}

const requireJson: Koa.Middleware = async (ctx, next) => {
  if (!ctx.is('application/json')) {
    throw new ArchiveError('unsupported_media_type', `Send the bill as application/json (got ${ctx.get('content-type') || 'no content type'})`);
  }
  await next();
};
