/**
 * `archive test-workflow --account A --year Y --month M`: the guide's test_workflow.py.
 * Checks a deployment end to end, printing each step as it goes and stopping at the first
 * failure with the reason: Archive's health, Codex and Ledger with our token, a dry run
 * of that bill, archiving it, reading it back, its CSV, the company's history, and the
 * schedule.
 */
import type { Config } from '../config';
import { CodexClient, LedgerClient, peerSettings } from '../peers/clients';
import { ArchiveClient } from '../../shared/archive-client';
import { BridgeError } from '../../shared/bridge-error';
import type { Job, JobItem } from '../../shared/runs';
import { periodState } from '../../shared/schedule';
import { invoiceNumberFor, periodText } from '../../shared/period';

export interface WorkflowOptions {
  account: string;
  year: number;
  month: number;
  archiveUrl?: string;
}

type Out = (line: string) => void;

class StepFailed extends Error {}

export async function testWorkflow(config: Config, opts: WorkflowOptions, out: Out = (l) => process.stdout.write(l + '\n')): Promise<number> {
  const base = (opts.archiveUrl ?? `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`).replace(/\/$/, '');
  const adminToken = config.adminToken;
  const serviceToken = config.serviceToken;
  if (!adminToken || !serviceToken) {
    out('✗ Set ADMIN_TOKEN and SERVICE_TOKEN (in .env or the environment): the workflow calls Archive as an administrator and Ledger and Codex as Archive does');
    return 2;
  }
  const period = periodText(opts.year, opts.month);
  const invoice = invoiceNumberFor(opts.account, opts.year, opts.month);
  out(`Archive workflow check: account ${opts.account}, ${period}, Archive at ${base}`);
  let step = 0;
  const run = async <T>(title: string, fn: () => Promise<[T, string]>): Promise<T> => {
    step++;
    const started = Date.now();
    try {
      const [value, detail] = await fn();
      out(`✓ ${step}. ${title}: ${detail} (${Date.now() - started} ms)`);
      return value;
    } catch (err) {
      out(`✗ ${step}. ${title}: ${(err as Error).message}`);
      throw new StepFailed();
    }
  };
  const client = new ArchiveClient(base, adminToken, { timeoutMs: 30_000 });
  /** A call through the API client, its failure in the words of a deployment check. */
  const api = async <T>(what: string, fn: (c: ArchiveClient) => Promise<T>): Promise<T> => {
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof BridgeError && err.code === 'unreachable') throw new Error(`${err.message}; is archive.service running?`, { cause: err });
      if (err instanceof BridgeError) throw new Error(`Archive answered ${err.status} to ${what}: ${err.message}`, { cause: err });
      throw err;
    }
  };
  const runAndWait = async (dryRun: boolean): Promise<{ job: Job; item: JobItem }> => {
    const { job_id } = await api('POST /api/runs', (c) => c.startRun({ year: opts.year, month: opts.month, accounts: [opts.account], dry_run: dryRun }));
    const deadline = Date.now() + 120_000;
    for (;;) {
      const job = await api(`GET /api/scheduler/jobs/${job_id}`, (c) => c.job(job_id));
      if (!['running', 'pending'].includes(job.status)) {
        const item = job.items.items[0];
        if (!item) throw new Error(`job ${job_id} ended ${job.status} without an outcome: ${job.error ?? ''}`);
        if (item.outcome === 'failed' || item.outcome === 'skipped' || item.outcome === 'not_found') throw new Error(`job ${job_id}: ${item.outcome}: ${item.error}`);
        return { job, item };
      }
      if (Date.now() > deadline) throw new Error(`job ${job_id} still ${job.status} after 2 minutes`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  try {
    await run('Archive health', async () => {
      const body = await api('GET /health', (c) => c.health());
      if (!body) throw new Error('503: the server answers but is degraded (its database is unavailable or read-only)');
      return [body, `${body.status}, database ${body.database ?? 'ok'}, version ${body.version ?? '?'}`];
    });
    await run('Admin token accepted', async () => {
      const c = await api('GET /api/scheduler/config', (c) => c.schedule());
      return [c, 'yes'];
    });
    const peers = peerSettings({ ...config, peerRetries: 1 }, serviceToken);
    const company = await run(`Codex (${config.codexUrl}) knows the company`, async () => {
      const c = await new CodexClient(peers).company(opts.account);
      if (!c) throw new Error(`Codex has no company ${opts.account} (404)`);
      return [c, `${c.name ?? '(no name)'}, plan ${c.billing_plan ?? '(none)'}`];
    });
    await run(`Ledger (${config.ledgerUrl}) has the bill`, async () => {
      const bill = await new LedgerClient(peers).billing(opts.account, opts.year, opts.month);
      if (bill.kind === 'no_bill') throw new Error(`Ledger has no bill for ${opts.account} in ${period}: ${bill.reason}`);
      return [bill, `total ${bill.answer.receipt.total} for ${bill.answer.company_name}`];
    });
    const plan = await run('Dry run for this bill', async () => {
      const { job, item } = await runAndWait(true);
      const what =
        item.outcome === 'would_archive'
          ? `would archive ${item.invoice_number}, total ${item.total_amount}, ${item.line_item_count} lines`
          : `${item.outcome} (${item.invoice_number}, total ${item.total_amount})`;
      return [item, `${what}; job ${job.id}`];
    });
    // The one step that writes for good: say so before it happens, and keep the server's rule
    // (only a month that has ended in the schedule's zone) in words here too.
    const schedule = await api('GET /api/scheduler/config', (c) => c.schedule());
    const state = periodState(opts.year, opts.month, schedule.effective_timezone, new Date());
    if (state.state !== 'ended') {
      out(
        `✗ ${step + 1}. Archive the bill: ${period} has not ended yet in ${schedule.effective_timezone} (it ends ${state.ends_at.toISOString()}); an archived bill is kept for good, so the workflow archives only months that have ended. Run it for an earlier month.`,
      );
      throw new StepFailed();
    }
    out(`  Next: archiving ${invoice} for good. An archived bill is never changed or removed; this is a real bill of company ${opts.account}.`);
    const archived = await run('Archive the bill', async () => {
      const { job, item } = await runAndWait(false);
      return [item, `${item.outcome}: ${item.invoice_number}, snapshot ${item.snapshot_id}; job ${job.id}`];
    });
    const bill = await run('Read it back', async () => {
      const b = await api(`GET /api/snapshot/${invoice}`, (c) => c.snapshot(invoice));
      const expected = plan.outcome === 'would_archive' ? plan.total_amount : archived.total_amount;
      if (expected && b.total_amount !== expected) throw new Error(`the archived total ${b.total_amount} differs from the planned ${expected}`);
      return [b, `${b.company_name}, total ${b.total_amount}, ${b.line_items.length} lines, hash ${b.content_hash.slice(0, 12)}…`];
    });
    await run('Its CSV', async () => {
      const csv = new TextDecoder().decode((await api(`GET /api/snapshot/${invoice}/csv`, (c) => c.file(invoice, 'csv'))).data);
      if (!String(csv).startsWith('InvoiceNo,Customer,InvoiceDate,DueDate')) throw new Error('the CSV does not start with the invoice header');
      const rows = String(csv).split('\r\n').filter(Boolean).length - 1;
      if (rows !== bill.line_items.length) throw new Error(`the CSV has ${rows} rows but the bill ${bill.line_items.length} lines`);
      return [csv, `${rows} rows`];
    });
    await run("The company's history", async () => {
      const h = await api(`GET /api/snapshots/company/${opts.account}`, (c) => c.company(opts.account, { limit: 100, offset: 0 }));
      const list = h.results;
      if (!list.some((s) => s.invoice_number === invoice)) throw new Error(`${invoice} is not in the company's history`);
      return [h, `${list.length} bill(s) for ${company.name ?? opts.account}`];
    });
    await run('Scheduler configuration', async () => {
      const c = await api('GET /api/scheduler/config', (c) => c.schedule());
      const when = c.enabled ? `next run ${c.next_run_at} (${c.effective_timezone}) for ${c.next_run_period ? periodText(c.next_run_period.year, c.next_run_period.month) : '?'}` : 'disabled';
      return [c, `${when}; last run ${c.last_run_at ?? 'never'}${c.last_run_status ? ` (${c.last_run_status})` : ''}`];
    });
  } catch (err) {
    if (err instanceof StepFailed) {
      out('Workflow check FAILED');
      return 1;
    }
    throw err;
  }
  out('Workflow check passed');
  return 0;
}
