/**
 * A database error in words, for the operator: its own module, with nothing loaded at run time,
 * so the import's worker threads say what went wrong with the old database as the CLI does.
 */

/**
 * Why a database cannot be reached or used, in words (a connection's error code first).
 * `missing`: what to do about a database that does not exist (ours: create it; another's: its name).
 */
export function describeDbError(err: unknown, opts: { missing?: string } = {}): string {
  const e = err as { code?: string; message?: string; name?: string };
  if (e.name === 'KnexTimeoutError') return 'the connection timed out (host unreachable or firewalled)';
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'nothing is listening at that host and port (is PostgreSQL running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the host name cannot be resolved';
    case 'ETIMEDOUT':
      return 'the connection timed out (host unreachable or firewalled)';
    case '28P01':
    case '28000':
      return `authentication failed (${e.message})`;
    case '3D000':
      return `${e.message}: ${opts.missing ?? 'create it first (CREATE DATABASE ...)'}`;
    default:
      return e.message ?? String(err);
  }
}
