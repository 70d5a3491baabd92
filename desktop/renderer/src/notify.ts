/**
 * OS notifications when long work ends while the window is not in front: a run started here,
 * a bulk export. The page's Notification API (Electron shows it as the system's own); a click
 * brings the window forward and opens what ended. Nothing when the window has the focus, or
 * when notifications are not allowed.
 */
import type { ArchiveBridge } from '../../../shared/bridge';
import { OUTCOME_LABELS, outcomeCounts } from '../../../shared/runs';
import type { Go } from './routes';
import { period } from './ui';

/** Asks once, on a person's action (starting a run or an export), whether notifications may be shown. */
export function askToNotify(): void {
  if ('Notification' in window && Notification.permission === 'default') void Notification.requestPermission().catch(() => undefined);
}

/** A notification, only when the window is not in front. */
export function notifyIfAway(title: string, body: string, onClick?: () => void): void {
  if (document.hasFocus() || !('Notification' in window) || Notification.permission !== 'granted') return;
  const n = new Notification(title, { body });
  n.onclick = () => {
    window.focus();
    onClick?.();
    n.close();
  };
}

/** Follows a run (by reading it every few seconds, beside any live view of it) and says how it ended. */
export function notifyWhenRunEnds(bridge: ArchiveBridge, jobId: string, go: Go): void {
  askToNotify();
  const timer = setInterval(() => {
    bridge.jobs.get(jobId, { per_page: 1 }).then(
      (job) => {
        if (job.status === 'running' || job.status === 'pending') return;
        clearInterval(timer);
        const what = `${job.dry_run ? 'Dry run' : 'Run'} for ${period(job.target_year, job.target_month)}`;
        const counts = outcomeCounts(job.counts)
          .map((o) => `${o.count} ${o.label}`)
          .join(', ');
        notifyIfAway(`${what}: ${job.status}`, counts || job.error || OUTCOME_LABELS.pending, () => go({ name: 'job', id: jobId }));
      },
      () => undefined, // the next tick tries again (a lost connection is shown by the banner)
    );
  }, 3000);
}
