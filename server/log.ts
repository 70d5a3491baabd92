/**
 * Structured logs: one JSON object per line on stdout, for journald. Written
 * asynchronously, so lines logged while a write is in flight share one write(2):
 * per-request synchronous writes cost more than the request itself under load.
 * On a terminal (a person running `npm start` or the demo) the same lines are printed
 * readably instead (pino-pretty); LOG_FORMAT=json or pretty chooses either way.
 */
import pino from 'pino';
import pretty from 'pino-pretty';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'archive' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: no token ever reaches a log line.
      // An error is logged by its type, message, code and stack only: parsers attach the request
      // body to their errors (co-body's err.body), and no body ever belongs in a log line.
      serializers: { err: errorOnly },
      redact: { paths: ['req.headers.authorization', '*.authorization', 'serviceToken', 'adminToken'], censor: '[redacted]' },
    },
    level === 'silent'
      ? undefined
      : readable()
        ? pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,service', singleLine: true })
        : pino.destination({ dest: 1, sync: false, minLength: 0 }),
  );
}

/** Pretty lines for a person at a terminal; JSON for journald, files and pipes. */
function readable(): boolean {
  const format = process.env.LOG_FORMAT;
  return format === 'pretty' || (format !== 'json' && Boolean(process.stdout.isTTY));
}

function errorOnly(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err).slice(0, 500) };
  const e = err as Error & { code?: unknown; status?: unknown; type?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { type: e.constructor?.name ?? 'Error', message: e.message.slice(0, 500), stack: e.stack };
  for (const k of ['code', 'status', 'type'] as const) if (typeof e[k] === 'string' || typeof e[k] === 'number') out[k] = e[k];
  if (e.cause !== undefined) out.cause = errorOnly(e.cause);
  return out;
}
