/** Structured logs: one JSON object per line on stdout, for journald. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { service: 'archive' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Belt and braces: no token ever reaches a log line.
    redact: { paths: ['req.headers.authorization', '*.authorization', 'serviceToken', 'adminToken'], censor: '[redacted]' },
  });
}
