/**
 * "Test connection": health, sign-in and version, each reported on its own, and the rule for a
 * saved token's address. One procedure for the desktop's main process and the web bridge.
 * Browser-safe.
 */
import { ArchiveClient, type FetchLike } from './archive-client';
import { BridgeError } from './bridge-error';
import type { ConnectionReport } from './bridge';

export async function checkConnection(url: string, token: string | undefined, opts: { fetch?: FetchLike } = {}): Promise<ConnectionReport> {
  const client = new ArchiveClient(url, token, { fetch: opts.fetch, timeoutMs: 10_000 });
  const hasToken = Boolean(token);
  const report: ConnectionReport = { reachable: false, health: 'unreachable', database: null, version: null, auth: 'untested', message: '' };
  try {
    const h = await client.health();
    report.reachable = true;
    if (h) {
      if (h.service !== 'archive') return { ...report, message: `Something answers at ${url}, but it is not an Archive server` };
      report.health = h.status === 'ok' ? 'ok' : 'degraded';
      report.database = h.database ?? null;
      report.version = h.version ?? null;
    } else {
      report.health = 'degraded';
      report.database = 'unavailable';
    }
  } catch (err) {
    return { ...report, message: (err as Error).message };
  }
  if (!hasToken) return { ...report, message: 'The server answers; enter the admin token to sign in' };
  try {
    await client.adminProbe();
    return { ...report, auth: 'ok', message: report.health === 'ok' ? `Connected: Archive ${report.version ?? ''}`.trim() : 'Signed in, but the server reports its database unavailable' };
  } catch (err) {
    const e = err as BridgeError;
    const auth = e.code === 'forbidden' ? 'not_admin' : e.code === 'unauthorized' ? 'rejected' : 'untested';
    const message = e.code === 'forbidden' ? 'This token may read bills but is not the admin token' : e.code === 'unauthorized' ? 'The server does not accept this token' : e.message;
    return { ...report, auth, message };
  }
}

/** The same server address, ignoring trailing slashes and the letter case of scheme and host. */
export function sameServerUrl(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.origin === y.origin && x.pathname.replace(/\/+$/, '') === y.pathname.replace(/\/+$/, '');
  } catch {
    return false;
  }
}

/** The address a saved server's token may be sent to: its own; another one typed beside it is refused. */
export function savedServerUrl(saved: { name: string; url: string }, url: string): string {
  if (!sameServerUrl(saved.url, url)) throw new BridgeError('invalid_arguments', `The token saved for ${saved.name} is only sent to ${saved.url}; to test ${url}, enter its token`);
  return saved.url;
}
