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
  const report: ConnectionReport = { reachable: false, health: 'unreachable', database: null, version: null, auth: 'untested', token: null, message: '' };
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
  if (!hasToken) return { ...report, message: 'The server answers; enter your token to sign in' };
  try {
    // Any token that may read bills signs in; the app then shows what this one may do.
    const about = await client.call('archive:about');
    const token = about.token;
    const what = token.scopes.includes('admin') ? 'everything' : 'searching, reading and exporting bills';
    return {
      ...report,
      auth: 'ok',
      token,
      message: report.health === 'ok' ? `Connected as ${token.name}, who may do ${what}: Archive ${report.version ?? ''}`.trim() : 'Signed in, but the server reports its database unavailable',
    };
  } catch (err) {
    const e = err as BridgeError;
    const auth = e.code === 'unauthorized' || e.code === 'forbidden' ? 'rejected' : 'untested';
    const message = e.code === 'unauthorized' ? 'The server does not accept this token (unknown, revoked or expired)' : e.code === 'forbidden' ? 'This token may not read bills' : e.message;
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
