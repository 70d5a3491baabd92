/**
 * Structured logs: one JSON object per line on stdout, for journald. Written
 * asynchronously, so lines logged while a write is in flight share one write(2):
 * per-request synchronous writes cost more than the request itself under load.
 */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { service: 'archive' },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Belt and braces: no token ever reaches a log line.
      redact: { paths: ['req.headers.authorization', '*.authorization', 'serviceToken', 'adminToken'], censor: '[redacted]' },
    },
    level === 'silent' ? undefined : pino.destination({ dest: 1, sync: false, minLength: 0 }),
  );
}
