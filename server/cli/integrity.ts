/**
 * The log from the command line:
 *   archive verify [--key VKEY] [--json]     everything recomputed and checked; exit 1 on any finding
 *   archive verify-bundle FILE --key VKEY    one bill's evidence bundle, offline: no database, no server
 *   archive integrity key                    the verifier key to publish (and give auditors)
 * VKEY is the verifier key itself or a file holding it. `verify` checks signatures with the key
 * given, or the signing key's own; never with a key read from the database.
 */
import fs from 'node:fs';
import type { VerifyReport } from '../../shared/api';
import { EvidenceError, verifyBundle } from '../../shared/evidence';
import { verifierKeyParts } from '../../shared/signed-note';
import { openForCommand } from '../boot';
import type { Config } from '../config';
import { lockHolder } from '../db/data-dir-lock';
import { openSigner } from '../integrity/setup';
import { verifyArchive } from '../integrity/verify';
import { cliContext, recordAudit } from '../audit/trail';
import { StartupError } from '../startup-error';

type Out = (line: string) => void;
const stdout: Out = (l) => process.stdout.write(l + '\n');
const stderr: Out = (l) => process.stderr.write(l + '\n');

/** A verifier key given as itself or as a file holding it. */
export function readVerifierKey(given: string): string {
  if (given.includes('+')) return given.trim();
  try {
    return fs.readFileSync(given, 'utf8').trim();
  } catch {
    throw new StartupError(`--key is neither a verifier key (name+id+key) nor a readable file: ${given}`);
  }
}

export async function verifyCommand(config: Config, opts: { key?: string; json?: boolean }, out: Out = stdout, err: Out = stderr): Promise<number> {
  const db = await openForCommand(config, 3);
  try {
    const verifierKey = opts.key ? readVerifierKey(opts.key) : (await openSigner(config, db.knex, { create: false })).signer.verifierKey;
    let shown = 0;
    const report = await verifyArchive(db.knex, {
      verifierKey,
      onProgress: (stage, done, total) => {
        if (opts.json || Date.now() - shown < 1000) return;
        shown = Date.now();
        err(`  ${stage}: ${done} of ${total}`);
      },
    });
    await recordAudit(db.knex, { ...cliContext(), action: 'verify.run', details: { ok: report.ok, bills: report.bills, findings: report.findings.length } });
    if (opts.json) out(JSON.stringify(report, null, 2));
    else printReport(report, verifierKey, out);
    return report.ok ? 0 : 1;
  } finally {
    await db.close();
  }
}

function printReport(r: VerifyReport, key: string, out: Out): void {
  out(
    `Checked ${r.bills} bills, ${r.audit_entries} audit entries, ${r.leaves} leaves and ${r.checkpoints} checkpoints against ${verifierKeyParts(key).keyName} (key ${verifierKeyParts(key).keyId}) in ${r.seconds.toFixed(1)} s (${r.bills_per_second} bills/s).`,
  );
  if (r.queued > 0)
    out(
      `${r.queued} ${r.queued === 1 ? 'entry (a bill or an audit entry) is' : 'entries (bills and audit entries) are'} queued for the log: made in the last seconds, or the server is not running (it adds them when it runs).`,
    );
  if (r.ok) {
    out(
      r.queued > 0
        ? 'OK: every bill and audit entry in the log matches its leaf, every bill queued for it its own content hash, the tree gives every signed root, every checkpoint is signed.'
        : 'OK: every bill matches its leaf, the tree gives every signed root, every checkpoint is signed.',
    );
    return;
  }
  out(`FAILED: ${r.findings.length} finding${r.findings.length === 1 ? '' : 's'}${r.first_divergent_leaf !== null ? `; the first divergent leaf is ${r.first_divergent_leaf}` : ''}:`);
  for (const f of r.findings.slice(0, 200)) out(`  - ${f.message}`);
  if (r.findings.length > 200) out(`  ... and ${r.findings.length - 200} more (--json lists them all)`);
}

export async function verifyBundleCommand(file: string, key: string, out: Out = stdout): Promise<number> {
  let bundle: unknown;
  try {
    bundle = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    out(`archive verify-bundle: cannot read ${file} as JSON: ${(e as Error).message}`);
    return 2;
  }
  try {
    const check = await verifyBundle(bundle, readVerifierKey(key));
    const s = check.bill.snapshot;
    out(`OK: invoice ${check.invoice_number} (account ${String(s.company_account_number)}, ${String(s.billing_year)}-${String(s.billing_month).padStart(2, '0')}, total ${String(s.total_amount)})`);
    for (const c of check.checks) out(`  ✓ ${c}`);
    return 0;
  } catch (e) {
    if (!(e instanceof EvidenceError)) throw e;
    out(`FAILED: ${e.message}`);
    return 1;
  }
}

export async function integrityKeyCommand(config: Config, out: Out = stdout): Promise<number> {
  // The log's name is in its database: beside a server on the embedded one, that server says it.
  const db = await openForCommand(config, 1).catch((err: unknown) => {
    if (err instanceof StartupError && !config.databaseUrl && lockHolder(config.dataDir)?.command === 'serve')
      throw new StartupError(`${err.message} While it runs, GET /api/integrity/key (any token) gives the verifier key.`);
    throw err;
  });
  try {
    const { signer } = await openSigner(config, db.knex, { create: false });
    out(signer.verifierKey);
    return 0;
  } finally {
    await db.close();
  }
}
