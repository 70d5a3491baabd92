/**
 * "Test connection": health, sign-in and version, each reported on its own. One procedure for
 * the desktop's main process and the web bridge; each passes its own way to call the server.
 * Browser-safe.
 */
import type { BridgeError } from './bridge-error';
import type { ConnectionReport } from './bridge';

/** The admin-only endpoint that proves a token is the admin token (it exists on every server). */
export const ADMIN_PROBE = '/api/scheduler/jobs?per_page=1';

export async function checkConnection(
  url: string,
  hasToken: boolean,
  /** GET /health without a token: the parsed body, or null when it answered 503 (degraded); throws when unreachable. */
  health: () => Promise<{ status?: string; service?: string; database?: string; version?: string } | null>,
  /** GET ADMIN_PROBE with the token; throws a BridgeError (`unauthorized`, `forbidden`, ...). */
  probe: () => Promise<unknown>,
): Promise<ConnectionReport> {
  const report: ConnectionReport = { reachable: false, health: 'unreachable', database: null, version: null, auth: 'untested', message: '' };
  try {
    const h = await health();
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
    await probe();
    return { ...report, auth: 'ok', message: report.health === 'ok' ? `Connected: Archive ${report.version ?? ''}`.trim() : 'Signed in, but the server reports its database unavailable' };
  } catch (err) {
    const e = err as BridgeError;
    const auth = e.code === 'forbidden' ? 'not_admin' : e.code === 'unauthorized' ? 'rejected' : 'untested';
    const message = e.code === 'forbidden' ? 'This token may read bills but is not the admin token' : e.code === 'unauthorized' ? 'The server does not accept this token' : e.message;
    return { ...report, auth, message };
  }
}

/** A filter object as a query string, leaving out what is unset. */
export function queryString(filter: object | undefined): string {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(filter ?? {})) if (v !== undefined && v !== null && v !== '') out.set(k, String(v));
  return out.toString();
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
