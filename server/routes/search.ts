/** Finding bills: search, a company's history, and dashboard figures. */
import { PageQuery, SearchQuery } from '../../shared/api';
import type { AppDeps } from '../deps';
import { parseOrThrow } from '../errors';
import { singleValued } from '../http/query';
import { archiveStats, companyHistory, searchSnapshots } from '../snapshots/search';
import { get, type Route } from './table';
import { ACCOUNT_NUMBER } from '../../shared/period';

export function searchRoutes(deps: AppDeps): Route[] {
  return [
    get('/api/snapshots/search', 'read', async (ctx) => {
      const query = parseOrThrow(SearchQuery, singleValued(ctx.query), 'search');
      ctx.body = await deps.reads((k) => searchSnapshots(k, query, deps.timeZone));
    }),

    get('/api/snapshots/company/:account_number', 'read', async (ctx) => {
      const account = ctx.params.account_number;
      if (!ACCOUNT_NUMBER.test(account)) parseOrThrow(SearchQuery.pick({ account_number: true }), { account_number: account }, 'account number');
      const page = parseOrThrow(PageQuery, singleValued(ctx.query), 'query');
      ctx.body = await deps.reads((k) => companyHistory(k, account, page.limit, page.offset));
    }),

    get('/api/stats', 'read', async (ctx) => {
      ctx.body = await deps.reads((k) => archiveStats(k));
    }),
  ];
}
