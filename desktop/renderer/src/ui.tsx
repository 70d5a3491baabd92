/** Small shared pieces: money, errors, progress, periods. */
import { useEffect, useRef, type ReactNode } from 'react';
import { fieldErrors } from '../../../shared/bridge';
import { formatMoney as formatSharedMoney } from '../../../shared/money';

/** Money for the screen: the shared rule, and a dash for no value. */
export const formatMoney = (value: string | null | undefined): string => formatSharedMoney(value) || '—';

export const Money = ({ value }: { value: string | null | undefined }) => <span className="money">{formatMoney(value)}</span>;

/*
 * Dates and times, one style for the whole app, in the user's locale. An instant always shows
 * its zone: the schedule's zone for the schedule's times, the user's own zone everywhere else
 * (named in the sidebar). A bill's dates are calendar days, the same everywhere.
 */

/** The user's zone, as the sidebar names it. */
export const USER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** An instant with its zone, e.g. "Dec 1, 2026, 2:00 AM UTC"; in `timeZone` when given (the schedule's), else the user's. */
export const when = (iso: string | null | undefined, timeZone?: string) =>
  iso ? new Date(iso).toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone }) : '—';

/** A calendar day (`YYYY-MM-DD`, an invoice or due date), e.g. "Oct 31, 2026". */
export const day = (ymd: string | null | undefined) =>
  ymd && /^\d{4}-\d{2}-\d{2}$/.test(ymd) ? new Date(`${ymd}T00:00:00Z`).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric', timeZone: 'UTC' }) : (ymd ?? '—');

/** The month before this one, in the user's zone. */
export function lastMonth(): [number, number] {
  const d = new Date();
  return d.getMonth() === 0 ? [d.getFullYear() - 1, 12] : [d.getFullYear(), d.getMonth()];
}

/** A billing month, e.g. "Oct 2026". */
export const period = (y: number, m: number) => new Date(Date.UTC(y, m - 1, 1)).toLocaleDateString(undefined, { year: 'numeric', month: 'short', timeZone: 'UTC' });

/** Field problems found on screen before anything was sent, shaped like the server's (details.fields). */
export class TypedError extends Error {
  readonly details: { fields: { field: string; reason: string }[] };
  constructor(fields: Record<string, string>) {
    super('Some values cannot be searched for as typed.');
    this.details = { fields: Object.entries(fields).map(([field, reason]) => ({ field, reason })) };
  }
}

/** An error in the user's words: its message, and each field by the label the screen gives it (`labels`). */
export function ErrorBox({ error, title, labels }: { error: unknown; title?: string; labels?: Record<string, string> }) {
  if (!error) return null;
  const e = error as Error & { code?: string };
  const fields = fieldErrors(error);
  const named = Object.keys(fields).length > 0 && labels;
  return (
    <div className="error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      {!named && <div>{e.message}</div>}
      {Object.keys(fields).length > 0 && (
        <ul>
          {Object.entries(fields).map(([f, r]) => (
            <li key={f}>
              {labels?.[f] ? <strong>{labels[f]}</strong> : <code>{f}</code>} {r}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Progress({ done, total, label }: { done: number; total: number; label?: ReactNode }) {
  const pct = total > 0 ? Math.min(100, Math.round((100 * done) / total)) : 0;
  return (
    <div className="progress" role="progressbar" aria-valuenow={done} aria-valuemax={total} aria-label={typeof label === 'string' ? label : 'progress'}>
      <div className="bar" style={{ width: `${pct}%` }} />
      <span>
        {label ? <>{label} · </> : null}
        {done} of {total} ({pct}%)
      </span>
    </div>
  );
}

export function StatusPill({ status, label }: { status: string; label?: string }) {
  return <span className={`pill pill-${status}`}>{label ?? status.replace(/_/g, ' ')}</span>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

/**
 * A modal dialog: takes the focus when it opens (its first button, or what has autoFocus),
 * keeps Tab inside, closes on Escape, and gives the focus back to where it was.
 */
export function Dialog({ label, onClose, children }: { label: string; onClose: () => void; children: ReactNode }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = box.current;
    if (el && !el.contains(document.activeElement)) (el.querySelector<HTMLElement>('[autofocus], button, input, textarea, select') ?? el).focus();
    return () => before?.focus?.();
  }, []);
  return (
    <div
      className="modal"
      role="dialog"
      aria-modal="true"
      aria-label={label}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          onClose();
        } else if (e.key === 'Tab' && box.current) {
          const items = [...box.current.querySelectorAll<HTMLElement>('button:not([disabled]), input, textarea, select, a[href]')];
          if (!items.length) return;
          const [first, last] = [items[0], items[items.length - 1]];
          if (e.shiftKey && document.activeElement === first) {
            e.preventDefault();
            last.focus();
          } else if (!e.shiftKey && document.activeElement === last) {
            e.preventDefault();
            first.focus();
          }
        }
      }}
    >
      <div className="card" ref={box} tabIndex={-1}>
        {children}
      </div>
    </div>
  );
}

/** "Previous · page n of m · Next" for a list read a page at a time; nothing when it fits on one. */
export function Pager({ page, perPage, total, onPage }: { page: number; perPage: number; total: number; onPage: (page: number) => void }) {
  if (total <= perPage) return null;
  return (
    <div className="pager">
      <button className="secondary" disabled={page === 1} onClick={() => onPage(page - 1)}>
        Previous
      </button>
      <span className="muted small">
        page {page} of {Math.ceil(total / perPage)}
      </span>
      <button className="secondary" disabled={page * perPage >= total} onClick={() => onPage(page + 1)}>
        Next
      </button>
    </div>
  );
}
