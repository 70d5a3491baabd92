/** One run: live progress while it runs, per-company outcomes, cancel and resume. */
import { useEffect, useState } from 'react';
import { ITEM_OUTCOMES, RESUMABLE_STATUSES, type Job, type JobItem } from '../../../../shared/runs';
import type { Go } from '../routes';
import { useAsync, useBridge } from '../bridge-context';
import { ErrorBox, Money, period, Progress, StatusPill, when } from '../ui';

export function JobDetail({ id, go }: { id: string; go: Go }) {
  const bridge = useBridge();
  const [outcome, setOutcome] = useState('');
  const [live, setLive] = useState<Job | null>(null);
  const [recent, setRecent] = useState<JobItem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const job = useAsync(() => bridge.jobs.get(id, { outcome: outcome || undefined, per_page: 1000 }), [bridge, id, outcome]);
  const j = live ?? job.data;

  useEffect(() => {
    if (!job.data || job.data.status !== 'running') return;
    const stop = bridge.jobs.watch(id, (e) => {
      if (e.type === 'job' || e.type === 'end') setLive(e.job);
      if (e.type === 'item') {
        setLive((prev) => (prev ? { ...prev, counts: e.counts } : { ...job.data!, counts: e.counts }));
        setRecent((r) => [e.item, ...r].slice(0, 8));
      }
      if (e.type === 'end') job.reload();
    });
    return stop;
    // Watch once per running job: job.data changes with every reload, the watch must not restart with it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bridge, id, job.data?.status]);

  const act = async (what: 'cancel' | 'resume') => {
    setError(null);
    try {
      if (what === 'cancel') await bridge.runs.cancel(id);
      else await bridge.runs.resume(id);
      setLive(null);
      setRecent([]);
      job.reload();
    } catch (err) {
      setError(err);
    }
  };

  if (job.error && !j)
    return (
      <section>
        <ErrorBox error={job.error} />
      </section>
    );
  if (!j)
    return (
      <section>
        <p className="muted">Loading…</p>
      </section>
    );
  const c = j.counts;
  const items = job.data?.items;
  return (
    <section>
      <button className="link" onClick={() => go({ name: 'jobs' })}>
        ← Jobs
      </button>
      <div className="bill-head">
        <div>
          <h1>
            {j.dry_run ? 'Dry run' : 'Run'} for {period(j.target_year, j.target_month)} <StatusPill status={j.status} />
          </h1>
          <div className="muted small">
            {j.all_companies ? 'all companies' : `accounts ${j.target_account_numbers?.join(', ')}`} · started {when(j.started_at)} by {j.triggered_by}
            {j.completed_at ? ` · ended ${when(j.completed_at)}` : ''}
          </div>
        </div>
        <div className="actions">
          {j.status === 'running' && (
            <button className="secondary" onClick={() => void act('cancel')}>
              Cancel run
            </button>
          )}
          {RESUMABLE_STATUSES.includes(j.status) && <button onClick={() => void act('resume')}>Resume</button>}
          {j.dry_run && (j.status === 'completed' || j.status === 'partial') && <button onClick={() => go({ name: 'runs', year: j.target_year, month: j.target_month })}>Archive this period…</button>}
        </div>
      </div>
      <ErrorBox error={error} />
      {j.error && <div className={j.status === 'completed' ? 'notice' : 'warn-box'}>{j.error}</div>}
      <div className="card">
        <Progress done={c.done} total={c.total} label={j.status === 'running' ? 'Working' : 'Done'} />
        <div className="counts">
          {(
            [
              ['archived', c.archived],
              ['would archive', c.would_archive],
              ['already archived', c.already_archived],
              ['changed since archived', c.changed_since_archived],
              ['no bill', c.no_bill],
              ['skipped', c.skipped],
              ['failed', c.failed],
            ] as const
          ).map(([k, v]) => (
            <div key={k} className={`count ${k === 'failed' && v ? 'bad' : ''}`}>
              <div className="big">{v}</div>
              <div className="muted small">{k}</div>
            </div>
          ))}
        </div>
        {recent.length > 0 && (
          <ul className="recent small" aria-label="Latest companies">
            {recent.map((i) => (
              <li key={i.account_number}>
                {i.account_number} {i.company_name}: {i.outcome}
                {i.error ? ` — ${i.error}` : ''}
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="card">
        <div className="bill-head">
          <h2>Companies {items ? <span className="muted small">({items.total})</span> : null}</h2>
          <select aria-label="Outcome" value={outcome} onChange={(e) => setOutcome(e.target.value)}>
            <option value="">every outcome</option>
            {[...ITEM_OUTCOMES, 'pending'].map((o) => (
              <option key={o} value={o}>
                {o.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </div>
        <table className="lines">
          <thead>
            <tr>
              <th>Account</th>
              <th>Company</th>
              <th>Outcome</th>
              <th className="num">Total</th>
              <th className="num">Lines</th>
              <th className="num">Tries</th>
              <th className="num">ms</th>
              <th>Note</th>
            </tr>
          </thead>
          <tbody>
            {items?.items.map((i) => (
              <tr
                key={i.account_number}
                className={i.invoice_number && i.snapshot_id ? 'clickable' : ''}
                onClick={() => i.snapshot_id && i.invoice_number && go({ name: 'bill', invoice: i.invoice_number })}
              >
                <td>{i.account_number}</td>
                <td>{i.company_name}</td>
                <td>
                  <StatusPill status={i.outcome ?? 'pending'} />
                </td>
                <td className="num">
                  <Money value={i.total_amount} />
                </td>
                <td className="num">{i.line_item_count ?? ''}</td>
                <td className="num">{i.attempts || ''}</td>
                <td className="num">{i.duration_ms ?? ''}</td>
                <td className="small">{note(i)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function note(i: JobItem): string {
  const d = i.details ?? {};
  const earlier = Array.isArray(d.earlier_failures) ? ` (failed ${d.earlier_failures.length}× before resuming: ${(d.earlier_failures as { error: string }[]).at(-1)?.error})` : '';
  return main(i, d) + earlier;
}

function main(i: JobItem, d: Record<string, unknown>): string {
  if (i.error) return i.error;
  if (i.outcome === 'changed_since_archived') return `Ledger now ${d.ledger_total} (archived ${d.archived_total}, difference ${d.difference})`;
  if (Array.isArray(d.warnings) && d.warnings.length) return (d.warnings as { message: string }[]).map((w) => w.message).join(' ');
  if (typeof d.reason === 'string') return d.reason;
  return '';
}
