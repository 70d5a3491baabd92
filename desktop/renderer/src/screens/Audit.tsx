/** The audit trail: who did what, when, from where; filtered and paged (admin token). */
import { useState } from 'react';
import { AUDIT_ACTIONS, type AuditEntry } from '../../../../shared/api';
import type { Go } from '../routes';
import { useAsync, useBridge } from '../bridge-context';
import { Empty, ErrorBox, Pager, when } from '../ui';

const PER_PAGE = 50;

const LABELS: Record<AuditEntry['action'], string> = {
  'bill.archived': 'bill archived',
  'bill.corrected': 'bill corrected',
  'schedule.changed': 'schedule changed',
  'run.started': 'run started',
  'run.cancelled': 'run cancelled',
  'run.resumed': 'run resumed',
  'token.created': 'token created',
  'token.revoked': 'token revoked',
  'export.pdf': 'PDF downloaded',
  'export.csv': 'CSV downloaded',
  'export.bundle': 'evidence bundle downloaded',
  'verify.run': 'archive verified',
  'backup.created': 'backup made',
  'backup.restored': 'backup restored',
  'schema.partitioned': 'bills partitioned by year',
};

/** What an entry says beyond its action, in a line. */
function detailsOf(e: AuditEntry): string {
  const d = e.details as Record<string, unknown>;
  if (e.action === 'schedule.changed') {
    const before = (d.before ?? {}) as Record<string, unknown>;
    const after = (d.after ?? {}) as Record<string, unknown>;
    const changed = Object.keys(after).filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
    return changed.map((k) => `${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(after[k])}`).join('; ') || 'no change';
  }
  if (e.action === 'bill.archived') return d.source === 'run' ? `by run ${String(d.job_id ?? '').slice(0, 8)}` : 'posted by Ledger';
  if (e.action === 'run.started') return `${d.dry_run ? 'dry run' : 'real run'}${d.all ? ', all companies' : d.accounts ? `, ${String(d.accounts)} accounts` : ''}`;
  if (e.action === 'verify.run') return d.ok ? `OK, ${String(d.bills)} bills` : `${String(d.findings)} findings`;
  if (e.action === 'token.created') return `scope ${String(d.scope)}`;
  return '';
}

export function Audit({ go }: { go: Go }) {
  const bridge = useBridge();
  const [filter, setFilter] = useState({ actor: '', action: '', invoice_number: '', period: '', from: '', to: '', page: 1 });
  const set = (k: keyof typeof filter, v: string) => setFilter({ ...filter, [k]: v, page: 1 });
  const page = useAsync(
    () =>
      bridge.audit.list({
        actor: filter.actor.trim() || undefined,
        action: filter.action || undefined,
        invoice_number: filter.invoice_number.trim() || undefined,
        period: filter.period || undefined,
        // Whole days in the person's zone.
        from: filter.from ? new Date(`${filter.from}T00:00:00`).toISOString() : undefined,
        to: filter.to ? new Date(`${filter.to}T23:59:59.999`).toISOString() : undefined,
        limit: PER_PAGE,
        offset: (filter.page - 1) * PER_PAGE,
      }),
    [bridge, filter],
  );
  const total = page.data?.total ?? 0;
  return (
    <section>
      <div className="bill-head">
        <h1>Audit</h1>
        <span className="muted small">Every entry is also a leaf of the tamper-evident log.</span>
      </div>
      <div className="filters card">
        <label>
          Who
          <input value={filter.actor} onChange={(e) => set('actor', e.target.value)} placeholder="token name, schedule, cli:…" />
        </label>
        <label>
          What
          <select aria-label="What" value={filter.action} onChange={(e) => set('action', e.target.value)}>
            <option value="">anything</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {LABELS[a]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Invoice
          <input value={filter.invoice_number} onChange={(e) => set('invoice_number', e.target.value)} placeholder="620547-202610" />
        </label>
        <label>
          Period
          <input type="month" aria-label="Period" value={filter.period} onChange={(e) => set('period', e.target.value)} />
        </label>
        <label>
          From
          <input type="date" aria-label="From" value={filter.from} onChange={(e) => set('from', e.target.value)} />
        </label>
        <label>
          To
          <input type="date" aria-label="To" value={filter.to} onChange={(e) => set('to', e.target.value)} />
        </label>
      </div>
      <ErrorBox error={page.error} title="Cannot read the audit trail" labels={{ actor: 'Who', action: 'What', invoice_number: 'Invoice', period: 'Period', from: 'From', to: 'To' }} />
      {page.data?.entries.length === 0 && <Empty>No entries match.</Empty>}
      <div className="muted small" data-testid="audit-count">
        {page.data ? `${total} entr${total === 1 ? 'y' : 'ies'}` : 'Loading…'}
      </div>
      <table className="lines audit">
        <thead>
          <tr>
            <th>When</th>
            <th>Who</th>
            <th>What</th>
            <th>About</th>
            <th>Details</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody>
          {page.data?.entries.map((e) => (
            <tr key={e.id} data-testid="audit-row">
              <td>{when(e.at)}</td>
              <td>{e.actor}</td>
              <td>{LABELS[e.action] ?? e.action}</td>
              <td>
                {e.subject && (e.action.startsWith('export.') || e.action === 'bill.archived') ? (
                  <button className="link" onClick={() => go({ name: 'bill', invoice: e.subject! })}>
                    {e.subject}
                  </button>
                ) : e.subject && e.action.startsWith('run.') ? (
                  <button className="link" onClick={() => go({ name: 'job', id: e.subject! })}>
                    job {e.subject.slice(0, 8)}
                  </button>
                ) : (
                  (e.subject ?? '—')
                )}
                {e.period && <span className="muted small"> · {e.period}</span>}
              </td>
              <td className="small">{detailsOf(e)}</td>
              <td className="small muted" title={e.request_id ? `request ${e.request_id}` : undefined}>
                {e.client ?? '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <Pager page={filter.page} perPage={PER_PAGE} total={total} onPage={(page) => setFilter({ ...filter, page })} />
    </section>
  );
}
