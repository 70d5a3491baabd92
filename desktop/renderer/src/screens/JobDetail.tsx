/**
 * One run: live progress while it runs (companies as they finish, elapsed time and an estimate),
 * per-company outcomes in words (failed ones first, with their reasons), a dry run's total to
 * reconcile against Ledger, cancel and resume; a bill Ledger changed since it was archived is
 * corrected from here in two clicks (the difference shown first).
 */
import { useEffect, useState } from 'react';
import { ITEM_OUTCOMES, OUTCOME_LABELS, outcomeCounts, RESUMABLE_STATUSES, type Job, type JobItem } from '../../../../shared/runs';
import type { Go } from '../routes';
import { useAsync, useBridge, useCurrency } from '../bridge-context';
import { ErrorBox, Money, period, Progress, StatusPill, when } from '../ui';
import { CorrectionDialog } from './Correction';

export function JobDetail({ id, go }: { id: string; go: Go }) {
  const bridge = useBridge();
  const currency = useCurrency();
  const [outcome, setOutcome] = useState('');
  const [live, setLive] = useState<Job | null>(null);
  const [recent, setRecent] = useState<JobItem[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [correcting, setCorrecting] = useState<string | null>(null);
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
    // The companies list follows the run: read again every two seconds while it runs.
    const refresh = setInterval(() => job.reload(), 2000);
    return () => {
      stop();
      clearInterval(refresh);
    };
    // Watch once per running job: job.data changes with every reload, the watch must not restart with it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bridge, id, job.data?.status]);

  // The clock of "running for" and "about … left", ticking while the run runs.
  const [now, setNow] = useState(() => Date.now());
  const isRunning = (live ?? job.data)?.status === 'running';
  useEffect(() => {
    if (!isRunning) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [isRunning]);

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
  // Failed companies first, each with its reason; then the rest in their order.
  const rows = items ? [...items.items.filter((i) => i.outcome === 'failed'), ...items.items.filter((i) => i.outcome !== 'failed')] : [];
  const running = j.status === 'running';
  const started = j.started_at ? new Date(j.started_at).getTime() : null;
  const elapsedMs = started ? (j.completed_at ? new Date(j.completed_at).getTime() : now) - started : 0;
  const leftMs = running && c.done > 0 && c.total > c.done ? (elapsedMs / c.done) * (c.total - c.done) : null;
  const billed = job.data?.billed;
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
        {c.total === 0 && !running ? (
          <p className="warn" data-testid="no-companies">
            {j.status === 'failed' ? 'The run stopped before any company was done.' : 'This run had no companies to do.'}
          </p>
        ) : (
          <Progress done={c.done} total={c.total} label={running ? 'Working' : j.status === 'completed' ? 'Done' : `Ended ${j.status}`} />
        )}
        <div className="muted small" data-testid="job-timing">
          {started ? `${running ? 'Running for' : 'Took'} ${duration(elapsedMs)}` : 'Not started'}
          {leftMs !== null ? ` · about ${duration(leftMs)} left` : ''}
        </div>
        <div className="counts">
          {outcomeCounts(c).map((o) => (
            <div key={o.outcome} className={`count ${o.outcome === 'failed' ? 'bad' : ''}`}>
              <div className="big">{o.count}</div>
              <div className="muted small">{o.label}</div>
            </div>
          ))}
          {c.total > c.done && (
            <div className="count">
              <div className="big">{c.total - c.done}</div>
              <div className="muted small">{OUTCOME_LABELS.pending}</div>
            </div>
          )}
        </div>
        {billed && billed.bills > 0 && (
          <p className="small" data-testid="job-billed">
            {j.dry_run ? 'Ledger bills this period' : 'Bills of this run'}: <strong>{billed.bills}</strong> totalling <Money value={billed.total} />
            {j.dry_run ? ' (to reconcile against Ledger)' : ''}
          </p>
        )}
        {recent.length > 0 && (
          <ul className="recent small" aria-label="Latest companies">
            {recent.map((i) => (
              <li key={i.account_number}>
                {i.account_number} {i.company_name}: {OUTCOME_LABELS[i.outcome ?? 'pending']}
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
                {OUTCOME_LABELS[o as keyof typeof OUTCOME_LABELS]}
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
              <th className="num">Total{currency && ` (${currency})`}</th>
              <th className="num">Lines</th>
              <th className="num">Tries</th>
              <th className="num">ms</th>
              <th>Note</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((i) => (
              <tr
                key={i.account_number}
                className={i.invoice_number && i.snapshot_id ? 'clickable' : ''}
                tabIndex={i.snapshot_id && i.invoice_number ? 0 : undefined}
                onClick={() => i.snapshot_id && i.invoice_number && go({ name: 'bill', invoice: i.invoice_number })}
                onKeyDown={(e) => e.key === 'Enter' && i.snapshot_id && i.invoice_number && go({ name: 'bill', invoice: i.invoice_number })}
              >
                <td>{i.account_number}</td>
                <td>{i.company_name}</td>
                <td>
                  <StatusPill status={i.outcome ?? 'pending'} label={OUTCOME_LABELS[i.outcome ?? 'pending']} />
                </td>
                <td className="num">
                  <Money value={i.total_amount} />
                </td>
                <td className="num">{i.line_item_count ?? ''}</td>
                <td className="num">{i.attempts || ''}</td>
                <td className="num">{i.duration_ms ?? ''}</td>
                <td className="small">
                  {note(i)}
                  {i.outcome === 'changed_since_archived' && i.invoice_number && (
                    <>
                      {' '}
                      <button
                        className="link"
                        onClick={(e) => {
                          e.stopPropagation();
                          setCorrecting(i.invoice_number);
                        }}
                        onKeyDown={(e) => e.stopPropagation()}
                      >
                        File correction…
                      </button>
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {correcting && <CorrectionDialog invoice={correcting} onClose={() => setCorrecting(null)} onFiled={(c) => go({ name: 'bill', invoice: c.invoice_number, revision: c.revision })} />}
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

/** A span of time in words: "45 s", "3 min 20 s", "1 h 5 min". */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}
