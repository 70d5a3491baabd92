/** The archive at a glance: bills, companies, the latest bill, the next run, totals per month. */
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { sumMoney } from '../../../../shared/money';
import type { Go } from '../routes';
import { useAsync, useBridge, useCurrency, useCan } from '../bridge-context';
import { outcomeCounts } from '../../../../shared/runs';
import { ErrorBox, formatMoney, Money, period, StatusPill, when } from '../ui';

export function Dashboard({ go }: { go: Go }) {
  const bridge = useBridge();
  const currency = useCurrency();
  const stats = useAsync(() => bridge.snapshots.stats(), [bridge]);
  // The schedule and the runs are the admin's: a read token's dashboard shows the bills only.
  const admin = useCan('admin');
  const schedule = useAsync(() => (admin ? bridge.schedule.get() : Promise.resolve(null)), [bridge, admin]);
  const latest = useAsync(() => bridge.snapshots.search({ limit: '1', sort: 'archived_at', order: 'desc' }), [bridge]);
  const lastRun = useAsync(() => (admin ? bridge.jobs.list({ type: 'run', per_page: 1 }) : Promise.resolve(null)), [bridge, admin]);
  const run = lastRun.data?.jobs[0];
  const s = stats.data;
  const last = latest.data?.results[0];
  const chart = (s?.monthly_totals ?? []).map((m) => ({
    period: period(Number(m.period.slice(0, 4)), Number(m.period.slice(5, 7))),
    total: Number(m.total),
    label: formatMoney(m.total),
    bills: m.snapshots,
  }));

  return (
    <section>
      <h1>Dashboard</h1>
      <ErrorBox error={stats.error ?? schedule.error} />
      <div className="cards">
        <div className="card stat">
          <div className="muted">Bills archived</div>
          <div className="big" data-testid="stat-snapshots">
            {s ? s.snapshots.toLocaleString() : '…'}
          </div>
        </div>
        <div className="card stat">
          <div className="muted">Companies</div>
          <div className="big">{s ? s.companies.toLocaleString() : '…'}</div>
        </div>
        <div className="card stat">
          <div className="muted">Latest archived bill</div>
          {last ? (
            <button className="link big-link" onClick={() => go({ name: 'bill', invoice: last.invoice_number })}>
              {last.invoice_number}
              <div className="muted small">
                {last.company_name} · {when(last.archived_at)}
              </div>
            </button>
          ) : (
            <div className="big">—</div>
          )}
        </div>
        {admin && (
          <div className={`card stat ${run && run.status !== 'completed' && run.status !== 'running' ? 'attention' : ''}`} data-testid="last-run">
            <div className="muted">Last run</div>
            {run ? (
              <button className="link big-link" onClick={() => go({ name: 'job', id: run.id })}>
                {period(run.target_year, run.target_month)} <StatusPill status={run.status} />
                <div className="muted small">
                  {outcomeCounts(run.counts)
                    .map((o) => `${o.count} ${o.label}`)
                    .join(' · ') || 'no companies'}{' '}
                  · {when(run.started_at ?? run.created_at)}
                </div>
              </button>
            ) : (
              <div className="big">{lastRun.data ? 'none yet' : '…'}</div>
            )}
          </div>
        )}
        {admin && (
          <div className="card stat">
            <div className="muted">Next scheduled run</div>
            {schedule.data ? (
              schedule.data.next_run_at ? (
                <button className="link big-link" onClick={() => go({ name: 'schedule' })}>
                  <span data-testid="next-run">{when(schedule.data.next_run_at, schedule.data.effective_timezone)}</span>
                  <div className="muted small">archives {period(schedule.data.next_run_period!.year, schedule.data.next_run_period!.month)}</div>
                </button>
              ) : (
                <div className="big">disabled</div>
              )
            ) : (
              <div className="big">…</div>
            )}
          </div>
        )}
      </div>
      <div className="card">
        <h2>Total billed per month, last 24 months{currency && ` (${currency})`}</h2>
        <div style={{ height: 300 }}>
          <ResponsiveContainer width="100%" height="100%">
            <BarChart data={chart} margin={{ left: 20, right: 10, top: 10, bottom: 0 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="period" tick={{ fontSize: 11 }} />
              <YAxis tickFormatter={(v: number) => v.toLocaleString()} tick={{ fontSize: 11 }} />
              <Tooltip
                formatter={(_v, _n, item) => [(item.payload as { label: string }).label, 'Total']}
                labelFormatter={(l, items) => `${l} · ${(items?.[0]?.payload as { bills?: number })?.bills ?? 0} bills`}
              />
              <Bar dataKey="total" fill="#3b6fd8" radius={[3, 3, 0, 0]} />
            </BarChart>
          </ResponsiveContainer>
        </div>
        {s && (
          <p className="muted small">
            Sum of the last 24 months: <Money value={sumMoney(s.monthly_totals.map((m) => m.total))} />
          </p>
        )}
      </div>
    </section>
  );
}
