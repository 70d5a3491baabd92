/** The record of runs, filtered by status and type. */
import { useEffect, useState } from 'react';
import { JOB_STATUSES, outcomeCounts } from '../../../../shared/runs';
import type { Go } from '../routes';
import { useAsync, useBridge } from '../bridge-context';
import { Empty, ErrorBox, Pager, period, Progress, StatusPill, when } from '../ui';

export function Jobs({ go }: { go: Go }) {
  const bridge = useBridge();
  const [filter, setFilter] = useState({ status: '', type: '', page: 1 });
  const jobs = useAsync(() => bridge.jobs.list({ status: filter.status || undefined, type: filter.type || undefined, page: filter.page, per_page: 50 }), [bridge, filter]);
  const anyRunning = jobs.data?.jobs.some((j) => j.status === 'running');
  useEffect(() => {
    if (!anyRunning) return;
    const t = setInterval(jobs.reload, 2000);
    return () => clearInterval(t);
  }, [anyRunning, jobs.reload]);

  return (
    <section>
      <div className="bill-head">
        <h1>Jobs</h1>
        <button onClick={() => go({ name: 'runs' })}>Start a run…</button>
      </div>
      <div className="filters card">
        <label>
          Status
          <select aria-label="Status" value={filter.status} onChange={(e) => setFilter({ ...filter, status: e.target.value, page: 1 })}>
            <option value="">any</option>
            {JOB_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select aria-label="Type" value={filter.type} onChange={(e) => setFilter({ ...filter, type: e.target.value, page: 1 })}>
            <option value="">any</option>
            <option value="run">real runs</option>
            <option value="dry_run">dry runs</option>
          </select>
        </label>
      </div>
      <ErrorBox error={jobs.error} />
      {jobs.data?.jobs.length === 0 && <Empty>No jobs yet.</Empty>}
      <table className="lines jobs">
        <thead>
          <tr>
            <th>Started</th>
            <th>Period</th>
            <th>Type</th>
            <th>Status</th>
            <th>Progress</th>
            <th>Triggered by</th>
          </tr>
        </thead>
        <tbody>
          {jobs.data?.jobs.map((j) => (
            <tr key={j.id} className="clickable" tabIndex={0} onClick={() => go({ name: 'job', id: j.id })} onKeyDown={(e) => e.key === 'Enter' && go({ name: 'job', id: j.id })}>
              <td>{when(j.started_at ?? j.created_at)}</td>
              <td>{period(j.target_year, j.target_month)}</td>
              <td>
                {j.dry_run ? 'dry run' : 'run'}
                {j.all_companies ? '' : ` · ${j.target_account_numbers?.length ?? 0} accounts`}
              </td>
              <td>
                <StatusPill status={j.status} />
              </td>
              <td style={{ minWidth: 220 }}>
                {j.status === 'running' ? (
                  <Progress done={j.counts.done} total={j.counts.total} />
                ) : (
                  <span className="small" data-testid="job-outcomes">
                    {outcomeCounts(j.counts)
                      .map((o) => `${o.count} ${o.label}`)
                      .join(' · ') || (j.status === 'failed' ? 'stopped before any company' : 'no companies')}
                  </span>
                )}
              </td>
              <td className="small">{j.triggered_by}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {jobs.data && <Pager page={filter.page} perPage={50} total={jobs.data.total} onPage={(page) => setFilter({ ...filter, page })} />}
    </section>
  );
}
