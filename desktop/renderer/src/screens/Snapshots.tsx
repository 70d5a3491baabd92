/** Searching bills: every filter, sortable columns, a virtualised table, export of a whole search. */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { SnapshotSummary } from '../../../../shared/api';
import type { BulkExportProgress, SearchParams } from '../../../../shared/bridge';
import type { Go } from '../routes';
import { useAsync, useBridge, useDebounced, useCurrency } from '../bridge-context';
import { Empty, ErrorBox, Money, Progress, when } from '../ui';
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

export function Snapshots({ go, initial }: { go: Go; initial?: Record<string, string> }) {
  const bridge = useBridge();
  const [filters, setFilters] = useState<SearchParams>(initial ?? {});
  const [sort, setSort] = useState<{ sort: string; order: 'asc' | 'desc' }>({ sort: 'archived_at', order: 'desc' });
  const [page, setPage] = useState({ limit: 100, offset: 0 });
  const debounced = useDebounced(filters, 60);
  const params = useMemo<SearchParams>(() => {
    const p: SearchParams = { sort: sort.sort, order: sort.order, limit: String(page.limit), offset: String(page.offset) };
    for (const [k, v] of Object.entries(debounced)) if (v && v.trim()) p[k as keyof SearchParams] = v.trim();
    return p;
  }, [debounced, sort, page]);
  const result = useAsync(() => bridge.snapshots.search(params), [bridge, params]);
  const [exporting, setExporting] = useState<BulkExportProgress | null>(null);
  const [exportError, setExportError] = useState<unknown>(null);
  const [exportDone, setExportDone] = useState<string | null>(null);

  useEffect(() => bridge.exports.onProgress(setExporting), [bridge]);
  // Other filters or another order start again at the first page (set while rendering, not in an effect).
  const [searched, setSearched] = useState({ debounced, sort });
  if (searched.debounced !== debounced || searched.sort !== sort) {
    setSearched({ debounced, sort });
    if (page.offset !== 0) setPage((p) => ({ ...p, offset: 0 }));
  }

  const setFilter = (k: keyof SearchParams, v: string) => setFilters((f) => ({ ...f, [k]: v }));
  const toggleSort = (key?: string) => key && setSort((s) => ({ sort: key, order: s.sort === key && s.order === 'desc' ? 'asc' : 'desc' }));
  const bulk = async () => {
    setExportError(null);
    setExportDone(null);
    try {
      const { limit: _l, offset: _o, ...all } = params;
      const r = await bridge.exports.bulkPdf(all);
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
            <input aria-label={f.label} type={f.type ?? 'text'} placeholder={f.placeholder} value={filters[f.key] ?? ''} onChange={(e) => setFilter(f.key, e.target.value)} />
          </label>
        ))}
        <div className="actions">
          <button type="button" className="secondary" onClick={() => setFilters({})}>
            Clear
          </button>
        </div>
      </form>
      <ErrorBox error={result.error} title="The search was refused" />
      <div className="toolbar">
        <span className="muted" data-testid="result-count">
          {result.loading ? 'Searching…' : `${total.toLocaleString()} bills`}
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
      {rows.length === 0 && !result.loading ? (
        <Empty>No bills match.</Empty>
      ) : (
        <ResultTable rows={rows} sort={sort} onSort={toggleSort} onOpen={(r) => go({ name: 'bill', invoice: r.invoice_number })} />
      )}
    </section>
  );
}

function ResultTable({ rows, sort, onSort, onOpen }: { rows: SnapshotSummary[]; sort: { sort: string; order: string }; onSort: (k?: string) => void; onOpen: (r: SnapshotSummary) => void }) {
  const parent = useRef<HTMLDivElement>(null);
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
      <div ref={parent} className="tbody">
        <div style={{ height: v.getTotalSize(), position: 'relative' }}>
          {v.getVirtualItems().map((item) => {
            const r = rows[item.index];
            return (
              <div
                key={r.invoice_number}
                role="row"
                className="tr"
                style={{ transform: `translateY(${item.start}px)` }}
                onClick={() => onOpen(r)}
                tabIndex={0}
                onKeyDown={(e) => e.key === 'Enter' && onOpen(r)}
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
