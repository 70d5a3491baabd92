/** The search's results: a virtualised table with sortable headers (mouse or keyboard), arrow keys between rows, and the scroll kept per search. */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef } from 'react';
import type { SnapshotSummary } from '../../../../shared/api';
import { useCurrency } from '../bridge-context';
import { Money, period, when } from '../ui';

export const COLUMNS: { key: string; label: string; sort?: string; className?: string }[] = [
  { key: 'invoice_number', label: 'Invoice', sort: 'invoice_number' },
  { key: 'company_name', label: 'Company', sort: 'company_name' },
  { key: 'company_account_number', label: 'Account', sort: 'company_account_number' },
  { key: 'period', label: 'Period', sort: 'period' },
  { key: 'total_amount', label: 'Total', sort: 'total_amount', className: 'num' },
  { key: 'line_item_count', label: 'Lines', className: 'num' },
  { key: 'archived_at', label: 'Archived', sort: 'archived_at' },
];

const SCROLL = 'archive.lastScroll';

/** Puts the focus on a result row (once it is rendered). */
export function focusRow(index: number): void {
  document.querySelector<HTMLElement>(`[data-row-index="${index}"]`)?.focus();
}

export function ResultTable({
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
                  {period(r.billing_year, r.billing_month)}
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
