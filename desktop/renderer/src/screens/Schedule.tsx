/** The schedule: every field, validated by the server, with the next run previewed in its zone. */
import { useMemo, useState } from 'react';
import { fieldErrors } from '../../../../shared/bridge';
import { ACCOUNT_NUMBER } from '../../../../shared/period';
import type { SchedulerConfig } from '../../../../shared/runs';
import { nextDue, periodFor } from '../../../../shared/schedule';
import { useAsync, useBridge } from '../bridge-context';
import { ErrorBox, period, when } from '../ui';

/** The form's fields by the labels the screen shows (for the server's field errors). */
const SCHEDULE_LABELS: Record<string, string> = {
  enabled: 'Archive automatically',
  day_of_month: 'Day of the month',
  hour: 'Hour',
  timezone: 'Time zone',
  snapshot_previous_month: 'Which month',
  snapshot_all_companies: 'Which companies',
  account_numbers: 'Scheduled accounts',
};

export function Schedule() {
  const bridge = useBridge();
  const cfg = useAsync(() => bridge.schedule.get(), [bridge]);
  // Every real run counts, whoever started it (the schedule's own fields know only its runs).
  const runs = useAsync(() => bridge.jobs.list({ type: 'run', per_page: 1 }), [bridge]);
  const latestRun = runs.data?.jobs[0];
  const [form, setForm] = useState<SchedulerConfig | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  // A newly loaded schedule replaces the form (set while rendering, not in an effect).
  // The account list as typed (commas, spaces and new lines kept while typing); read on save.
  const [accountsText, setAccountsText] = useState('');
  const [loaded, setLoaded] = useState(cfg.data);
  if (cfg.data !== loaded) {
    setLoaded(cfg.data);
    setForm(cfg.data ?? null);
    setAccountsText(cfg.data?.account_numbers.join(', ') ?? '');
  }
  const accounts = accountList(accountsText);
  // Accounts Codex said it does not know, for the list as it was saved ([] when Codex could not be asked).
  const [unknown, setUnknown] = useState<string[] | null>(null);

  const tz = form?.timezone || form?.effective_timezone || 'UTC';
  const preview = useMemo(() => {
    if (!form || !form.enabled) return null;
    try {
      const at = nextDue({ day_of_month: String(form.day_of_month), hour: form.hour }, tz, new Date());
      return { at, period: periodFor(at, tz, form.snapshot_previous_month) };
    } catch {
      return null;
    }
  }, [form, tz]);

  if (cfg.error)
    return (
      <section>
        <ErrorBox error={cfg.error} />
      </section>
    );
  if (!form)
    return (
      <section>
        <p className="muted">Loading…</p>
      </section>
    );
  const fields = fieldErrors(error);
  const save = async (anyway = false) => {
    setError(null);
    setSaved(false);
    if (!form.snapshot_all_companies && accounts.bad.length) return;
    // Accounts Codex does not know are flagged before the list is saved (saving anyway is a choice).
    if (!form.snapshot_all_companies && !anyway && accounts.good.length) {
      try {
        const check = await bridge.companies.check(accounts.good);
        if (check.unknown.length) {
          setUnknown(check.unknown);
          return;
        }
      } catch (err) {
        setUnknown([]);
        setError(err);
        return;
      }
    }
    setUnknown(null);
    try {
      const next = await bridge.schedule.update({
        enabled: form.enabled,
        day_of_month: form.day_of_month,
        hour: form.hour,
        timezone: form.timezone || null,
        snapshot_previous_month: form.snapshot_previous_month,
        snapshot_all_companies: form.snapshot_all_companies,
        account_numbers: accounts.good,
      });
      setForm(next);
      setAccountsText(next.account_numbers.join(', '));
      setSaved(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Schedule</h1>
      <form
        className="card form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label className="inline">
          <input type="checkbox" aria-label="Enabled" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.target.checked })} /> Archive automatically every month
        </label>
        <div className="grid3">
          <label>
            Day of the month
            <select aria-label="Day of the month" value={String(form.day_of_month)} onChange={(e) => setForm({ ...form, day_of_month: e.target.value === 'last' ? 'last' : Number(e.target.value) })}>
              {Array.from({ length: 28 }, (_, i) => (
                <option key={i + 1} value={i + 1}>
                  {i + 1}
                </option>
              ))}
              <option value="last">last day</option>
            </select>
            {fields['day_of_month'] && <span className="field-error">{fields['day_of_month']}</span>}
          </label>
          <label>
            Hour
            <select aria-label="Hour" value={form.hour} onChange={(e) => setForm({ ...form, hour: Number(e.target.value) })}>
              {Array.from({ length: 24 }, (_, h) => (
                <option key={h} value={h}>
                  {String(h).padStart(2, '0')}:00
                </option>
              ))}
            </select>
          </label>
          <label>
            Time zone
            <input aria-label="Time zone" placeholder={`server's (${form.effective_timezone})`} value={form.timezone ?? ''} onChange={(e) => setForm({ ...form, timezone: e.target.value || null })} />
            {fields['timezone'] && <span className="field-error">{fields['timezone']}</span>}
          </label>
        </div>
        <fieldset>
          <legend>Which month</legend>
          <label className="inline">
            <input type="radio" name="month" checked={form.snapshot_previous_month} onChange={() => setForm({ ...form, snapshot_previous_month: true })} /> The month that just ended
          </label>
          <label className="inline">
            <input type="radio" name="month" checked={!form.snapshot_previous_month} onChange={() => setForm({ ...form, snapshot_previous_month: false })} /> The current month
          </label>
        </fieldset>
        <fieldset>
          <legend>Which companies</legend>
          <label className="inline">
            <input type="radio" name="companies" checked={form.snapshot_all_companies} onChange={() => setForm({ ...form, snapshot_all_companies: true })} /> All companies
          </label>
          <label className="inline">
            <input type="radio" name="companies" checked={!form.snapshot_all_companies} onChange={() => setForm({ ...form, snapshot_all_companies: false })} /> These accounts
          </label>
          {!form.snapshot_all_companies && (
            <>
              <textarea
                aria-label="Scheduled accounts"
                placeholder="612620, 610000"
                value={accountsText}
                onChange={(e) => {
                  setAccountsText(e.target.value);
                  setUnknown(null);
                }}
                aria-invalid={accounts.bad.length > 0}
              />
              <span className="muted" data-testid="account-count">
                {accounts.good.length} account{accounts.good.length === 1 ? '' : 's'}, separated by commas, spaces or new lines
              </span>
              {unknown && (
                <span className="field-error" role="alert" data-testid="unknown-accounts">
                  {unknown.length
                    ? `Codex does not know ${unknown.length === 1 ? 'this account' : 'these accounts'}: ${unknown.join(', ')}. A run would find no company for it.`
                    : 'Codex could not be asked which accounts it knows.'}{' '}
                  <button type="button" className="link" onClick={() => void save(true)}>
                    Save anyway
                  </button>
                </span>
              )}
              {accounts.bad.length > 0 && (
                <span className="field-error" role="alert">
                  Not an account number (digits only, up to 50): {accounts.bad.join(', ')}
                </span>
              )}
            </>
          )}
          {fields['account_numbers'] && <span className="field-error">{fields['account_numbers']}</span>}
        </fieldset>
        <div className="preview" data-testid="schedule-preview">
          {preview ? (
            <>
              Next run: <strong data-testid="preview-at">{when(preview.at.toISOString(), tz)}</strong> ({tz}), archiving {period(preview.period.year, preview.period.month)}
            </>
          ) : (
            'The schedule is off: nothing runs by itself.'
          )}
        </div>
        <div className="actions">
          <button type="submit">Save schedule</button>
        </div>
        {saved && <div className="notice">Saved. The server re-armed its schedule{form.next_run_at ? ` for ${when(form.next_run_at, tz)}` : ''}.</div>}
        <ErrorBox error={error} title="Not saved" labels={SCHEDULE_LABELS} />
      </form>
      <div className="card muted small" data-testid="schedule-last-run">
        Last scheduled run: {form.last_run_at ? `${when(form.last_run_at, tz)}: ${form.last_run_status}, ${form.last_run_count} archived` : 'none yet'}
        {latestRun && (
          <>
            {' '}
            · latest run of any kind: {period(latestRun.target_year, latestRun.target_month)}, {latestRun.status}, started {when(latestRun.started_at ?? latestRun.created_at)} by{' '}
            {latestRun.triggered_by} · {runs.data!.total} real run{runs.data!.total === 1 ? '' : 's'} in all
          </>
        )}
      </div>
    </section>
  );
}

/** The accounts of the typed list (in order, each once), and the words that are not account numbers. */
function accountList(text: string): { good: string[]; bad: string[] } {
  const words = text.split(/[\s,;]+/).filter(Boolean);
  const good = [...new Set(words.filter((w) => ACCOUNT_NUMBER.test(w)))];
  return { good, bad: words.filter((w) => !ACCOUNT_NUMBER.test(w)) };
}
