/** Finding bills: search, a company's history, and dashboard figures. */
import Router from '@koa/router';
import { PageQuery, SearchQuery } from '../../shared/api';
import type { AppDeps } from '../app';
import { requireScope } from '../http/auth';
import { parseOrThrow } from '../http/errors';
import { singleValued } from '../http/query';
import { archiveStats, companyHistory, searchSnapshots } from '../snapshots/search';

export function searchRoutes(deps: AppDeps): Router {
  const router = new Router({ prefix: '/api' });

  router.get('/snapshots/search', requireScope('read'), async (ctx) => {
    const query = parseOrThrow(SearchQuery, singleValued(ctx.query), 'search');
    ctx.body = await searchSnapshots(query, deps.timeZone);
  });

  router.get('/snapshots/company/:account_number', requireScope('read'), async (ctx) => {
    const account = ctx.params.account_number;
    if (!/^\d{1,50}$/.test(account)) parseOrThrow(SearchQuery.pick({ account_number: true }), { account_number: account }, 'account number');
    const page = parseOrThrow(PageQuery, singleValued(ctx.query), 'query');
    ctx.body = await companyHistory(account, page.limit, page.offset);
  });

  router.get('/stats', requireScope('read'), async (ctx) => {
    ctx.body = await archiveStats();
  });

  return router;
}
