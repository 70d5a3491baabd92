/** Searching bills: every filter (amounts as the app shows them), saved searches, the search kept in the address, export of a whole search. The table is ResultTable.tsx. */
import { useEffect, useMemo, useState } from 'react';
import type { BulkExportProgress, SearchParams } from '../../../../shared/bridge';
import { askToNotify, notifyIfAway } from '../notify';
import { removeSavedSearch, saveSearch, savedSearches, type Go, type SavedSearch } from '../routes';
import { useAsync, useBridge, useDebounced } from '../bridge-context';
import { Empty, ErrorBox, Progress, TypedError } from '../ui';
import { COLUMNS, focusRow, ResultTable } from './ResultTable';

const FILTERS: { key: keyof SearchParams; label: string; placeholder?: string; type?: string }[] = [
  { key: 'company', label: 'Company', placeholder: 'name contains…' },
  { key: 'account_number', label: 'Account', placeholder: '620547' },
  { key: 'invoice_number', label: 'Invoice', placeholder: '620547-202610' },
  { key: 'from_period', label: 'From period', type: 'month' },
  { key: 'to_period', label: 'To period', type: 'month' },
  { key: 'min_total', label: 'Min total', placeholder: '0.00' },
  { key: 'max_total', label: 'Max total', placeholder: '99999.99' },
  { key: 'archived_from', label: 'Archived from', type: 'date' },
  { key: 'archived_to', label: 'Archived to', type: 'date' },
];

const SORTS = new Set(COLUMNS.map((c) => c.sort).filter(Boolean));
const AMOUNT = /^-?\d+(\.\d{1,2})?$/;
const LABELS: Record<string, string> = Object.fromEntries([...FILTERS.map((f) => [f.key, f.label]), ['sort', 'Sort'], ['order', 'Order'], ['limit', 'Rows per page'], ['offset', 'Page']]);

/** The screen's state from a route's parameters (the address, a saved search, the last search). */
function stateOf(params: Record<string, string>) {
  const filters: SearchParams = {};
  for (const f of FILTERS) if (params[f.key]) filters[f.key] = params[f.key];
  const sort = { sort: SORTS.has(params.sort) ? params.sort : 'archived_at', order: params.order === 'asc' ? ('asc' as const) : ('desc' as const) };
  const limit = [50, 100, 250, 1000].includes(Number(params.limit)) ? Number(params.limit) : 100;
  const offset = Math.max(0, Math.floor(Number(params.offset) || 0));
  return { filters, sort, page: { limit, offset: offset - (offset % limit) } };
}

/** An amount as the app shows it (`1,000.50`) as the API takes it (`1000.50`); null when it is not one. */
function amountOf(text: string): string | null {
  const plain = text.replace(/[,\s\u00a0\u202f]/g, '').replace(/^\u2212/, '-');
  return AMOUNT.test(plain) ? plain : null;
}

export function Snapshots({ go, initial, onChange }: { go: Go; initial?: Record<string, string>; onChange?: (params: Record<string, string>) => void }) {
  const bridge = useBridge();
  const [start] = useState(() => stateOf(initial ?? {}));
  const [filters, setFilters] = useState<SearchParams>(start.filters);
  const [sort, setSort] = useState<{ sort: string; order: 'asc' | 'desc' }>(start.sort);
  const [page, setPage] = useState(start.page);
  const debounced = useDebounced(filters, 60);
  // What the person typed that the API would refuse, said in their words before anything is sent.
  const typos = useMemo(() => {
    const out: Record<string, string> = {};
    for (const k of ['min_total', 'max_total'] as const) if (debounced[k]?.trim() && amountOf(debounced[k]!) === null) out[k] = 'must be an amount such as 1,000 or 1,000.50';
    return out;
  }, [debounced]);
  const params = useMemo<SearchParams>(() => {
    const p: SearchParams = { sort: sort.sort, order: sort.order, limit: String(page.limit), offset: String(page.offset) };
    for (const [k, v] of Object.entries(debounced)) if (v && v.trim()) p[k as keyof SearchParams] = k === 'min_total' || k === 'max_total' ? (amountOf(v) ?? v.trim()) : v.trim();
    return p;
  }, [debounced, sort, page]);
  const result = useAsync(() => (Object.keys(typos).length ? Promise.reject(new TypedError(typos)) : bridge.snapshots.search(params)), [bridge, params, typos]);
  // The address and the remembered search follow the screen (filters as typed).
  useEffect(() => {
    const state: Record<string, string> = { sort: sort.sort, order: sort.order, limit: String(page.limit), offset: String(page.offset) };
    for (const [k, v] of Object.entries(debounced)) if (v && v.trim()) state[k] = v.trim();
    onChange?.(state);
  }, [debounced, sort, page, onChange]);
  const [exporting, setExporting] = useState<BulkExportProgress | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exportDone, setExportDone] = useState<string | null>(null);
  const [saved, setSaved] = useState<SavedSearch[]>(savedSearches);
  const [naming, setNaming] = useState<string | null>(null);

  useEffect(() => bridge.exports.onProgress(setExporting), [bridge]);
  // Other filters or another order start again at the first page (set while rendering, not in an effect).
  const [searched, setSearched] = useState({ debounced, sort });
  if (searched.debounced !== debounced || searched.sort !== sort) {
    setSearched({ debounced, sort });
    if (page.offset !== 0) setPage((p) => ({ ...p, offset: 0 }));
  }
  const run = (s: SavedSearch) => {
    const next = stateOf(s.params);
    setFilters(next.filters);
    setSort(next.sort);
    setPage(next.page);
  };

  const setFilter = (k: keyof SearchParams, v: string) => setFilters((f) => ({ ...f, [k]: v }));
  const toggleSort = (key?: string) => key && setSort((s) => ({ sort: key, order: s.sort === key && s.order === 'desc' ? 'asc' : 'desc' }));
  const bulk = async () => {
    setExportError(null);
    setExportDone(null);
    try {
      const { limit: _l, offset: _o, ...all } = params;
      askToNotify();
      const r = await bridge.exports.bulkPdf(all);
      if (r.state !== 'not_started')
        notifyIfAway(`Export ${r.state === 'done' ? 'finished' : r.state}`, `${r.files} PDFs${r.manifest ? ' and manifest.csv' : ''} in ${r.folder}${r.error ? `: ${r.error}` : ''}`);
      if (r.state === 'done') setExportDone(`${r.files} PDFs and manifest.csv written to ${r.folder}`);
      else if (r.state === 'cancelled') setExportDone(`Cancelled after ${r.files} PDFs (listed in manifest.csv)`);
      else if (r.state === 'failed') setExportError(new Error(r.error ?? 'Export failed'));
    } catch (err) {
      setExportError(err);
    }
  };
  const rows = result.data?.results ?? [];
  const total = result.data?.total ?? 0;
  // A broad search over millions of bills is counted up to a bound: "1,000+".
  const exact = result.data?.total_exact !== false;
  const totalText = `${total.toLocaleString()}${exact ? '' : '+'}`;

  return (
    <section>
      <h1>Snapshots</h1>
      <form className="filters card" onSubmit={(e) => e.preventDefault()}>
        {FILTERS.map((f) => (
          <label key={f.key}>
            {f.label}
            <input
              aria-label={f.label}
              // The screen opens with the first filter ready to type in.
              autoFocus={f.key === 'company'}
              type={f.type ?? 'text'}
              placeholder={f.placeholder}
              value={filters[f.key] ?? ''}
              onChange={(e) => setFilter(f.key, e.target.value)}
              // Enter goes from the filters to the first result.
              onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), focusRow(0))}
            />
          </label>
        ))}
        <div className="actions">
          <button type="button" className="secondary" onClick={() => setFilters({})}>
            Clear
          </button>
        </div>
      </form>
      {naming === null ? (
        <div className="saved-searches" aria-label="Saved searches">
          {saved.map((s) => (
            <span key={s.name} className="chip">
              <button className="link" onClick={() => run(s)} title="Run this saved search">
                {s.name}
              </button>
              <button className="link" aria-label={`Forget the saved search ${s.name}`} onClick={() => setSaved(removeSavedSearch(s.name))}>
                ×
              </button>
            </span>
          ))}
          <button className="secondary" onClick={() => setNaming('')}>
            Save this search…
          </button>
        </div>
      ) : (
        <form
          className="saved-searches"
          onSubmit={(e) => {
            e.preventDefault();
            if (!naming.trim()) return;
            // The filters as typed, and the order (a saved search starts at its first page).
            const typed = Object.fromEntries(Object.entries(filters).filter(([, v]) => v?.trim())) as Record<string, string>;
            setSaved(saveSearch({ name: naming.trim(), params: { ...typed, sort: sort.sort, order: sort.order } }));
            setNaming(null);
          }}
        >
          <input
            aria-label="Name of the saved search"
            autoFocus
            placeholder="e.g. Large October bills"
            value={naming}
            onChange={(e) => setNaming(e.target.value)}
            onKeyDown={(e) => e.key === 'Escape' && setNaming(null)}
          />
          <button type="submit">Save</button>
          <button type="button" className="secondary" onClick={() => setNaming(null)}>
            Cancel
          </button>
        </form>
      )}
      <ErrorBox error={result.error} title={searchErrorTitle(result.error)} labels={LABELS} />
      <div className="toolbar">
        <span className="muted" data-testid="result-count">
          {result.loading ? 'Searching…' : result.error ? 'No results: see above' : `${totalText} bills`}
        </span>
        <div className="pager">
          <button className="secondary" disabled={page.offset === 0} onClick={() => setPage((p) => ({ ...p, offset: Math.max(0, p.offset - p.limit) }))}>
            Previous
          </button>
          <span className="muted small">{total ? `${page.offset + 1}–${Math.min(total, page.offset + page.limit)}` : '0'}</span>
          <button className="secondary" disabled={exact ? page.offset + page.limit >= total : rows.length < page.limit} onClick={() => setPage((p) => ({ ...p, offset: p.offset + p.limit }))}>
            Next
          </button>
          <select aria-label="Rows per page" value={page.limit} onChange={(e) => setPage({ limit: Number(e.target.value), offset: 0 })}>
            {[50, 100, 250, 1000].map((n) => (
              <option key={n} value={n}>
                {n} per page
              </option>
            ))}
          </select>
          <button disabled={!total || exporting?.state === 'running'} onClick={() => void bulk()}>
            Export all {total ? totalText : ''} as PDF…
          </button>
        </div>
      </div>
      {exporting?.state === 'running' && (
        <div className="card export">
          <Progress done={exporting.done} total={exporting.total} label="Exporting PDFs" />
          <button className="secondary" onClick={() => void bridge.exports.cancel(exporting.exportId)}>
            Cancel
          </button>
        </div>
      )}
      {exportDone && <div className="notice">{exportDone}</div>}
      <ErrorBox error={exportError} title="The export stopped" />
      {result.error ? null : rows.length === 0 && !result.loading ? (
        <Empty>No bills match.</Empty>
      ) : (
        <ResultTable rows={rows} sort={sort} onSort={toggleSort} onOpen={(r) => go({ name: 'bill', invoice: r.invoice_number })} scrollKey={JSON.stringify(params)} />
      )}
    </section>
  );
}

/** What went wrong with a search, in words: not reached, failed on the server, or refused as asked. */
function searchErrorTitle(error: unknown): string {
  const e = error as { code?: string; status?: number } | undefined;
  if (e?.code === 'unreachable') return 'Not searched: the server cannot be reached';
  if ((e?.status ?? 0) >= 500) return 'The search could not be done on the server';
  return 'The search was refused';
}
