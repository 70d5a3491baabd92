/**
 * Live followers of jobs (the event streams): a cap on how many are open at once, and one
 * poller per job run elsewhere (another server, the CLI), shared by all its followers,
 * instead of one each. A job run here is followed through the engine's events.
 */
import type { Knex } from 'knex';
import { FINISHED_STATUSES, type RunEvent } from '../../shared/runs';
import { ArchiveError } from '../errors';
import type { RunEngine } from './engine';
import { getJobRow } from './job-store';
import { toJob, type JobRow } from './jobs';

type Send = (event: RunEvent) => void;

export class JobWatch {
  private open = 0;
  private readonly pollers = new Map<string, { timer: NodeJS.Timeout; followers: Set<Send>; last: string }>();

  constructor(
    private readonly knex: Knex,
    private readonly engine: RunEngine | undefined,
    private readonly maxSubscribers: number,
    private readonly pollMs = 1000,
  ) {}

  get subscribers(): number {
    return this.open;
  }

  get polling(): number {
    return this.pollers.size;
  }

  /** Follows `row` until its `end` event (or the returned stop); refused past the cap. */
  follow(row: JobRow, send: Send): () => void {
    if (this.open >= this.maxSubscribers) {
      throw new ArchiveError(
        'too_many_subscribers',
        `${this.open} live event streams are open, the most this server allows (EVENTS_MAX_SUBSCRIBERS); follow the job by polling GET /api/scheduler/jobs/${row.id}, or try again later`,
        { limit: this.maxSubscribers },
      );
    }
    this.open++;
    let stopped = false;
    const channel = `job:${row.id}`;
    const listener = (e: RunEvent) => send(e);
    const stop = () => {
      if (stopped) return;
      stopped = true;
      this.open--;
      this.engine?.events.off(channel, listener);
      const p = this.pollers.get(row.id);
      if (p) {
        p.followers.delete(send);
        if (p.followers.size === 0) {
          clearInterval(p.timer);
          this.pollers.delete(row.id);
        }
      }
    };
    if (FINISHED_STATUSES.includes(row.status)) {
      send({ type: 'end', job: toJob(row) });
      return stop;
    }
    this.engine?.events.on(channel, listener);
    send({ type: 'job', job: toJob(row) });
    if (!this.engine?.isActive(row.id)) this.poll(row.id, send);
    return stop;
  }

  private poll(id: string, send: Send): void {
    const existing = this.pollers.get(id);
    if (existing) {
      existing.followers.add(send);
      return;
    }
    const entry = { followers: new Set([send]), last: '', timer: undefined as unknown as NodeJS.Timeout };
    entry.timer = setInterval(async () => {
      try {
        const now = await getJobRow(this.knex, id);
        const job = toJob(now);
        const finished = FINISHED_STATUSES.includes(now.status);
        const stamp = JSON.stringify(job.counts) + job.status;
        if (!finished && stamp === entry.last) return;
        entry.last = stamp;
        for (const f of [...entry.followers]) f(finished ? { type: 'end', job } : { type: 'job', job });
      } catch {
        /* the next tick tries again */
      }
    }, this.pollMs);
    entry.timer.unref();
    this.pollers.set(id, entry);
  }
}
