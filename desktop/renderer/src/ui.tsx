/** Small shared pieces: money, errors, progress, periods. */
import type { ReactNode } from 'react';
import { fieldErrors } from '../../../shared/bridge';
import { formatMoney as formatSharedMoney } from '../../../shared/money';

/** Money for the screen: the shared rule, and a dash for no value. */
export const formatMoney = (value: string | null | undefined): string => formatSharedMoney(value) || '—';

export const Money = ({ value }: { value: string | null | undefined }) => <span className="money">{formatMoney(value)}</span>;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
export const period = (y: number, m: number) => `${MONTHS[m - 1]} ${y}`;
export const when = (iso: string | null | undefined, timeZone?: string) => (iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone }) : '—');

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const e = error as Error & { code?: string };
  const fields = fieldErrors(error);
  return (
    <div className="error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <div>{e.message}</div>
      {Object.keys(fields).length > 0 && (
        <ul>
          {Object.entries(fields).map(([f, r]) => (
            <li key={f}>
              <code>{f}</code> {r}
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

export function StatusPill({ status }: { status: string }) {
  return <span className={`pill pill-${status}`}>{status.replace(/_/g, ' ')}</span>;
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}
