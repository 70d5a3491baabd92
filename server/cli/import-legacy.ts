/** `archive import-legacy --from URL [--dry-run] [--legacy-timezone TZ] [--json]`: see ops/import-legacy.ts. Exit 1 when a row was refused. */
import { isTimeZone } from '../../shared/api';
import { openForCommand } from '../boot';
import type { Config } from '../config';
import { redactUrl } from '../db/database';
import { importLegacy } from '../ops/import-legacy';
import { StartupError } from '../startup-error';

type Out = (line: string) => void;

export async function importLegacyCommand(
  config: Config,
  opts: { from: string; dryRun?: boolean; timeZone?: string; json?: boolean },
  out: Out = (l) => process.stdout.write(l + '\n'),
  err: Out = (l) => process.stderr.write(l + '\n'),
): Promise<number> {
  if (!/^postgres(ql)?:\/\//.test(opts.from)) throw new StartupError('--from must be the old database as a postgres:// URL');
  const timeZone = opts.timeZone ?? config.timeZone;
  if (!isTimeZone(timeZone)) throw new StartupError(`--legacy-timezone ${timeZone} is not an IANA time zone (such as Europe/Berlin)`);
  const db = await openForCommand(config, 3);
  try {
    let shown = 0;
    const report = await importLegacy(db.knex, {
      from: opts.from,
      tolerance: config.totalsTolerance,
      timeZone,
      dryRun: opts.dryRun,
      onNotice: (text) => err(`  ${text}`),
      onProgress: (done, total) => {
        if (opts.json || Date.now() - shown < 1000) return;
        shown = Date.now();
        err(`  read ${done} of ${total}`);
      },
    });
    if (opts.json) {
      out(JSON.stringify(report, null, 2));
      return report.refused.length ? 1 : 0;
    }
    out(
      `${opts.dryRun ? 'Dry run: would import' : 'Imported'} ${report.imported} of ${report.read} bills from ${redactUrl(opts.from)} in ${report.seconds.toFixed(1)} s (${report.bills_per_second} bills/s); ${report.already_archived} already archived, ${report.refused.length} refused.`,
    );
    if (report.lines_rebuilt.length) out(`Line items rebuilt from the billing data (the old database had none): ${report.lines_rebuilt.join(', ')}.`);
    for (const r of report.refused) out(`  refused: old id ${r.legacy_id}, invoice ${r.invoice_number ?? '(none)'}, ${r.account ?? '(no account)'} ${r.period ?? ''}: ${r.reason}`);
    if (report.refused.length) out('Fix the refused rows in the old database (or leave them out) and run the import again: what is imported already is skipped.');
    return report.refused.length ? 1 : 0;
  } finally {
    await db.close();
  }
}
