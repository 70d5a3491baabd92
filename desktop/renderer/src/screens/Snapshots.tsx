/** Searching bills: every filter, sortable columns, a virtualised table, export of a whole search. */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { SnapshotSummary } from '../../../../shared/api';
import type { BulkExportProgress, SearchParams } from '../../../../shared/bridge';
import { askToNotify, notifyIfAway } from '../notify';
import { removeSavedSearch, saveSearch, savedSearches, type Go, type SavedSearch } from '../routes';
import { useAsync, useBridge, useDebounced, useCurrency } from '../bridge-context';
import { Empty, ErrorBox, Money, Progress, TypedError, when } from '../ui';
import { periodText } from '../../../../shared/period';

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

const COLUMNS: { key: string; label: string; sort?: string; className?: string }[] = [
  { key: 'invoice_number', label: 'Invoice', sort: 'invoice_number' },
  { key: 'company_name', label: 'Company', sort: 'company_name' },
  { key: 'company_account_number', label: 'Account', sort: 'company_account_number' },
  { key: 'period', label: 'Period', sort: 'period' },
  { key: 'total_amount', label: 'Total', sort: 'total_amount', className: 'num' },
  { key: 'line_item_count', label: 'Lines', className: 'num' },
  { key: 'archived_at', label: 'Archived', sort: 'archived_at' },
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
  const plain = text.replace(/[,\s\u00a0\u202f]/g, '');
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
      <ErrorBox
        error={result.error}
        title={(result.error as { code?: string } | undefined)?.code === 'unreachable' ? 'Not searched: the server cannot be reached' : 'The search was refused'}
        labels={LABELS}
      />
      <div className="toolbar">
        <span className="muted" data-testid="result-count">
          {result.loading ? 'Searching…' : result.error ? 'No results: see above' : `${total.toLocaleString()} bills`}
        </span>
        <div className="pager">
          <button className="secondary" disabled={page.offset === 0} onClick={() => setPage((p) => ({ ...p, offset: Math.max(0, p.offset - p.limit) }))}>
            Previous
          </button>
          <span className="muted small">{total ? `${page.offset + 1}–${Math.min(total, page.offset + page.limit)}` : '0'}</span>
          <button className="secondary" disabled={page.offset + page.limit >= total} onClick={() => setPage((p) => ({ ...p, offset: p.offset + p.limit }))}>
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
            Export all {total ? total.toLocaleString() : ''} as PDF…
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

const SCROLL = 'archive.lastScroll';

/** Puts the focus on a result row (once it is rendered). */
function focusRow(index: number): void {
  document.querySelector<HTMLElement>(`[data-row-index="${index}"]`)?.focus();
}

function ResultTable({
  rows,
  sort,
  onSort,
  onOpen,
  scrollKey,
}: {
  rows: SnapshotSummary[];
  sort: { sort: string; order: string };
  onSort: (k?: string) => void;
  onOpen: (r: SnapshotSummary) => void;
  /** The search these rows answer: coming back to it scrolls to where the list was left. */
  scrollKey: string;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const restored = useRef(false);
  useEffect(() => {
    if (restored.current || !rows.length || !parent.current) return;
    restored.current = true;
    try {
      const last = JSON.parse(localStorage.getItem(SCROLL) ?? 'null') as { key: string; top: number } | null;
      if (last?.key === scrollKey) parent.current.scrollTop = last.top;
    } catch {
      /* nothing to restore */
    }
  }, [rows.length, scrollKey]);
  const currency = useCurrency();
  const v = useVirtualizer({ count: rows.length, getScrollElement: () => parent.current, estimateSize: () => 36, overscan: 12 });
  return (
    <div className="table" role="table" aria-label="Bills">
      <div className="thead" role="row">
        {COLUMNS.map((c) => (
          <div
            key={c.key}
            role="columnheader"
            className={`th ${c.className ?? ''} ${c.sort ? 'sortable' : ''}`}
            onClick={() => onSort(c.sort)}
            // Sortable by keyboard too: Tab to the header, Enter or Space.
            tabIndex={c.sort ? 0 : undefined}
            onKeyDown={(e) => {
              if (c.sort && (e.key === 'Enter' || e.key === ' ')) {
                e.preventDefault();
                onSort(c.sort);
              }
            }}
            aria-sort={sort.sort === c.sort ? (sort.order === 'asc' ? 'ascending' : 'descending') : 'none'}
          >
            {c.key === 'total_amount' && currency ? `${c.label} (${currency})` : c.label}
            {sort.sort === c.sort ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ''}
          </div>
        ))}
      </div>
      <div ref={parent} className="tbody" data-testid="result-scroll" onScroll={(e) => localStorage.setItem(SCROLL, JSON.stringify({ key: scrollKey, top: e.currentTarget.scrollTop }))}>
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((item) => {
            const r = rows[item.index];
            return (
              <div
                key={r.invoice_number}
                role="row"
                className="tr"
                data-row-index={item.index}
                style={{ transform: `translateY(${item.start}px)` }}
                onClick={() => onOpen(r)}
                tabIndex={0}
                onKeyDown={(e) => {
                  // Up and down move through the results (scrolling the list); Enter opens one.
                  if (e.key === 'Enter') onOpen(r);
                  else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
                    e.preventDefault();
                    const next = Math.max(0, Math.min(rows.length - 1, item.index + (e.key === 'ArrowDown' ? 1 : -1)));
                    v.scrollToIndex(next);
                    requestAnimationFrame(() => focusRow(next));
                  }
                }}
              >
                <div className="td" role="cell">
                  {r.invoice_number}
                  {r.has_warnings && (
                    <span className="warn-dot" title="archived with a rounding warning">
                      •
                    </span>
                  )}
                </div>
                <div className="td" role="cell">
                  {r.company_name}
                </div>
                <div className="td" role="cell">
                  {r.company_account_number}
                </div>
                <div className="td" role="cell">
                  {periodText(r.billing_year, r.billing_month)}
                </div>
                <div className="td num" role="cell" data-testid="row-total">
                  <Money value={r.total_amount} />
                </div>
                <div className="td num" role="cell">
                  {r.line_item_count}
                </div>
                <div className="td" role="cell">
                  {when(r.archived_at)}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
