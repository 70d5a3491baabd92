/** Starting a run: a dry run by default, a real one after confirming; a month that has not ended is said plainly. */
import { useMemo, useState } from 'react';
import { outcomeCounts, type Job } from '../../../../shared/runs';
import { periodState } from '../../../../shared/schedule';
import { notifyWhenRunEnds } from '../notify';
import type { Go } from '../routes';
import { useAsync, useBridge } from '../bridge-context';
import { Dialog, ErrorBox, lastMonth, period, when } from '../ui';
import { periodText } from '../../../../shared/period';

export function Runs({ go, year, month }: { go: Go; year?: number; month?: number }) {
  const bridge = useBridge();
  const [form, setForm] = useState({
    period: year && month ? periodText(year, month) : periodText(...lastMonth()),
    scope: 'all' as 'all' | 'accounts',
    accounts: '',
    dryRun: !(year && month),
    openReason: '',
  });
  // The rule the server applies: a real run takes a month once it has ended in the schedule's zone.
  const schedule = useAsync(() => bridge.schedule.get(), [bridge]);
  const zone = schedule.data?.effective_timezone;
  const [confirm, setConfirm] = useState<{ dry: Job | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [y, m] = form.period.split('-').map(Number);
  const accounts = form.accounts.split(/[\s,]+/).filter(Boolean);
  const state = useMemo(() => (zone && y && m ? periodState(y, m, zone, new Date()) : null), [zone, y, m]);
  const notEnded = state && state.state !== 'ended' ? state : null;
  const blocked = !form.dryRun && (notEnded?.state === 'future' || (notEnded?.state === 'open' && !form.openReason.trim()));

  const request = () => ({
    year: y,
    month: m,
    dry_run: form.dryRun,
    ...(form.scope === 'all' ? { all: true } : { accounts }),
    ...(!form.dryRun && notEnded?.state === 'open' ? { allow_open_period: true, reason: form.openReason.trim() } : {}),
  });
  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await bridge.runs.start(request());
      notifyWhenRunEnds(bridge, r.job_id, go);
      go({ name: 'job', id: r.job_id });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
      setConfirm(null);
    }
  };
  const submit = async () => {
    if (form.dryRun) return start();
    // A real run: show what the latest dry run of this period found, and ask.
    setError(null);
    try {
      const dry = await bridge.jobs.list({ type: 'dry_run', year: String(y), month: String(m), per_page: 1 });
      setConfirm({ dry: dry.jobs[0] ?? null });
    } catch (err) {
      setError(err);
    }
  };

  return (
    <section>
      <h1>Start a run</h1>
      <p className="muted">A run fetches each company's bill for one month from Ledger. A dry run checks everything and writes nothing: start with one.</p>
      <form
        className="card form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Period
          <input aria-label="Period" type="month" required value={form.period} onChange={(e) => setForm({ ...form, period: e.target.value })} />
        </label>
        <fieldset>
          <legend>Companies</legend>
          <label className="inline">
            <input type="radio" name="scope" checked={form.scope === 'all'} onChange={() => setForm({ ...form, scope: 'all' })} /> All companies in Codex
          </label>
          <label className="inline">
            <input type="radio" name="scope" checked={form.scope === 'accounts'} onChange={() => setForm({ ...form, scope: 'accounts' })} /> These accounts
          </label>
          {form.scope === 'accounts' && <textarea aria-label="Accounts" placeholder="620547, 731002" value={form.accounts} onChange={(e) => setForm({ ...form, accounts: e.target.value })} />}
        </fieldset>
        {notEnded && (
          <div className="warn-box" role="status" data-testid="period-warning">
            {notEnded.state === 'future' ? (
              <>
                {period(y, m)} has not begun yet. A dry run shows what Ledger would bill; nothing can be archived for it before it ends ({when(notEnded.ends_at.toISOString(), zone)}).
              </>
            ) : (
              <>
                {period(y, m)} has not ended yet (it ends {when(notEnded.ends_at.toISOString(), zone)}): its bills are still provisional. An archived bill is kept for good, so Ledger&apos;s final bill
                would then be refused. Use a dry run, or wait until the month ends.
              </>
            )}
          </div>
        )}
        <label className="inline">
          <input type="checkbox" aria-label="Dry run" checked={form.dryRun} onChange={(e) => setForm({ ...form, dryRun: e.target.checked })} /> Dry run (write nothing, show the plan)
        </label>
        {!form.dryRun && notEnded?.state === 'open' && (
          <label>
            Archive it anyway, because…
            <textarea
              aria-label="Why archive a month that has not ended"
              placeholder="e.g. the company leaves mid-month; its final bill is issued now"
              value={form.openReason}
              onChange={(e) => setForm({ ...form, openReason: e.target.value })}
            />
          </label>
        )}
        <div className="actions">
          <button type="submit" disabled={busy || !form.period || blocked || (form.scope === 'accounts' && accounts.length === 0)}>
            {form.dryRun ? 'Start dry run' : 'Archive…'}
          </button>
        </div>
      </form>
      <ErrorBox error={error} title="The run did not start" />
      {confirm && (
        <Dialog label="Confirm run" onClose={() => setConfirm(null)}>
          <h2>
            Archive {period(y, m)} for {form.scope === 'all' ? 'all companies' : `${accounts.length} accounts`}?
          </h2>
          {notEnded?.state === 'open' && (
            <p className="warn" data-testid="confirm-open-period">
              {period(y, m)} has not ended: these bills are provisional and will be kept for good. Your reason is recorded with the run: “{form.openReason.trim()}”.
            </p>
          )}
          {confirm.dry ? (
            <p>
              The latest dry run ({confirm.dry.status}) found: <strong>{confirm.dry.counts.would_archive}</strong> to archive
              {outcomeCounts(confirm.dry.counts)
                .filter((o) => o.outcome !== 'would_archive')
                .map((o) => `, ${o.count} ${o.label}`)
                .join('')}
              .
            </p>
          ) : (
            <p className="warn">No dry run of this period yet. A dry run first shows exactly what would be archived.</p>
          )}
          <p className="muted small">Archived bills can never be changed or removed.</p>
          <div className="actions">
            <button className="secondary" onClick={() => setConfirm(null)}>
              Back
            </button>
            <button onClick={() => void start()} disabled={busy}>
              Archive now
            </button>
          </div>
        </Dialog>
      )}
    </section>
  );
}
