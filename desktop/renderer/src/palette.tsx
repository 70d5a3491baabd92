/**
 * The command palette (Ctrl+K, or Cmd+K on a Mac): type an invoice number, an account, a period
 * (YYYY-MM), a job id or a company's name and jump there, or run any action of the app (go to a
 * screen, start a dry run, run a saved search). Arrow keys choose, Enter runs, Escape closes.
 */
import { useEffect, useMemo, useState } from 'react';
import { ACCOUNT_NUMBER } from '../../../shared/period';
import type { Job } from '../../../shared/runs';
import { useBridge } from './bridge-context';
import { savedSearches, type Go } from './routes';
import { Dialog, ErrorBox, lastMonth, period } from './ui';

interface Command {
  label: string;
  hint?: string;
  /** Only for a token that may do everything (jobs, runs, the schedule). */
  admin?: boolean;
  run: () => void;
}

const INVOICE = /^\d{1,50}-\d{6}$/;
const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What the typed text can mean, most specific first, then the actions whose names match it. */
function commandsFor(text: string, go: Go, jobs: Job[], startDryRun: (y: number, m: number) => void, admin: boolean): Command[] {
  const q = text.trim();
  const out: Command[] = [];
  if (INVOICE.test(q)) out.push({ label: `Open invoice ${q}`, run: () => go({ name: 'bill', invoice: q }) });
  if (ACCOUNT_NUMBER.test(q)) {
    out.push({ label: `Open company ${q}`, hint: 'its bills, newest first', run: () => go({ name: 'company', account: q }) });
    out.push({ label: `Search bills of account ${q}`, run: () => go({ name: 'snapshots', params: { account_number: q } }) });
  }
  const p = PERIOD.exec(q);
  if (p) {
    const [y, m] = [Number(p[1]), Number(p[2])];
    out.push({ label: `Search bills of ${period(y, m)}`, run: () => go({ name: 'snapshots', params: { from_period: q, to_period: q } }) });
    out.push({ label: `Start a dry run for ${period(y, m)}`, hint: 'writes nothing', admin: true, run: () => startDryRun(y, m) });
    out.push({ label: `Start a run for ${period(y, m)}…`, hint: 'asks first', admin: true, run: () => go({ name: 'runs', year: y, month: m }) });
  }
  if (UUID.test(q)) out.push({ label: `Open job ${q.slice(0, 8)}…`, admin: true, run: () => go({ name: 'job', id: q.toLowerCase() }) });
  else if (/^[0-9a-f]{4,}$/i.test(q) || p) {
    // Recent jobs by the start of their id (the most specific meaning of the text: first), or by their period.
    const byId = jobs.filter((j) => j.id.startsWith(q.toLowerCase()));
    const byPeriod = p ? jobs.filter((j) => j.target_year === Number(p[1]) && j.target_month === Number(p[2]) && !byId.includes(j)) : [];
    const open = (j: Job): Command => ({
      label: `Open job ${j.id.slice(0, 8)}: ${j.dry_run ? 'dry run' : 'run'} for ${period(j.target_year, j.target_month)}, ${j.status}`,
      admin: true,
      run: () => go({ name: 'job', id: j.id }),
    });
    out.unshift(...byId.slice(0, 5).map(open));
    out.push(...byPeriod.slice(0, 5).map(open));
  }
  const actions: Command[] = [
    { label: 'Go to Dashboard', run: () => go({ name: 'dashboard' }) },
    { label: 'Go to Snapshots', hint: 'the last search', run: () => go({ name: 'snapshots' }) },
    { label: 'Go to Jobs', admin: true, run: () => go({ name: 'jobs' }) },
    { label: 'Start a run…', admin: true, run: () => go({ name: 'runs' }) },
    { label: 'Start a dry run of last month', hint: 'writes nothing', admin: true, run: () => startDryRun(...lastMonth()) },
    { label: 'Go to Schedule', admin: true, run: () => go({ name: 'schedule' }) },
    { label: 'Go to Servers', hint: 'connect, add a server', run: () => go({ name: 'connect' }) },
    ...savedSearches().map((s) => ({ label: `Run saved search: ${s.name}`, run: () => go({ name: 'snapshots', params: s.params }) })),
  ];
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  out.push(...actions.filter((a) => words.every((w) => a.label.toLowerCase().includes(w))));
  if (q && !INVOICE.test(q) && !ACCOUNT_NUMBER.test(q) && !p && !UUID.test(q)) {
    out.push({ label: `Search companies named “${q}”`, run: () => go({ name: 'snapshots', params: { company: q } }) });
  }
  // A read token sees only what it may do: no jobs, runs or schedule.
  return admin ? out : out.filter((c) => !c.admin);
}

export function CommandPalette({ go, enabled, admin }: { go: Go; enabled: boolean; admin: boolean }) {
  const bridge = useBridge();
  const [open, setOpen] = useState(false);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [failure, setFailure] = useState<unknown>(null);
  const [text, setText] = useState('');
  const [chosen, setChosen] = useState(0);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (enabled && (e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k') {
        e.preventDefault();
        setText('');
        setChosen(0);
        setFailure(null);
        setOpen(true);
        // The recent jobs, to open by the start of their id or their period (an admin's).
        (admin ? bridge.jobs.list({ per_page: 50 }) : Promise.resolve({ jobs: [] as Job[] })).then(
          (page) => setJobs(page.jobs),
          () => setJobs([]),
        );
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enabled, bridge, admin]);
  const commands = useMemo(() => {
    const startDryRun = (year: number, month: number) => {
      bridge.runs.start({ year, month, dry_run: true, all: true }).then(
        (r) => go({ name: 'job', id: r.job_id }),
        (err: unknown) => {
          setFailure(err);
          setOpen(true);
        },
      );
    };
    return open ? commandsFor(text, go, jobs, startDryRun, admin) : [];
  }, [open, text, go, jobs, bridge, admin]);
  if (!open) return null;
  const pick = Math.min(chosen, Math.max(0, commands.length - 1));
  const run = (c: Command | undefined) => {
    if (!c) return;
    setOpen(false);
    c.run();
  };
  return (
    <Dialog label="Command palette" onClose={() => setOpen(false)}>
      <input
        aria-label="Command"
        className="palette-input"
        autoFocus
        placeholder="Invoice, account, period (YYYY-MM), job id, company, or an action…"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setChosen(0);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            setChosen(Math.min(pick + 1, commands.length - 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setChosen(Math.max(pick - 1, 0));
          } else if (e.key === 'Enter') {
            e.preventDefault();
            run(commands[pick]);
          }
        }}
        aria-activedescendant={commands.length ? `palette-${pick}` : undefined}
        aria-controls="palette-list"
      />
      <ul className="palette-list" id="palette-list" role="listbox" aria-label="Commands">
        {commands.map((c, i) => (
          <li key={c.label} id={`palette-${i}`} role="option" aria-selected={i === pick} className={i === pick ? 'chosen' : ''} onMouseDown={(e) => (e.preventDefault(), run(c))}>
            {c.label}
            {c.hint && <span className="muted small"> · {c.hint}</span>}
          </li>
        ))}
        {commands.length === 0 && <li className="muted">Nothing matches</li>}
      </ul>
      <ErrorBox error={failure} title="That did not work" />
      <div className="muted small">↑ ↓ choose · Enter run · Esc close</div>
    </Dialog>
  );
}
