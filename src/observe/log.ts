// log.ts — pino JSON lines with `severity` (Cloud Logging reads it) and secrets redacted.

import { pino, type Logger, type LevelWithSilent } from 'pino';

const severity: Record<string, string> = {
  trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL',
};

/** redactPaths lists the fields that never reach a log line. */
export const redactPaths = [
  'req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers["proxy-authorization"]',
  'req.headers.cookie', 'headers.authorization', 'headers["x-api-key"]', 'headers.cookie',
  'authorization', 'apiKey', 'token', 'adminToken',
];

/**
 * createLogger makes the process logger; tests pass a destination to capture lines. `revision`
 * (Cloud Run's and Knative's K_REVISION) goes on every line, so a rollout's lines tell apart.
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream, revision = ''): Logger {
  return pino({
    level,
    base: revision === '' ? { service: 'infergate' } : { service: 'infergate', revision },
    messageKey: 'message',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ severity: severity[label] ?? 'DEFAULT', level: label }),
    },
    redact: { paths: redactPaths, censor: '[redacted]' },
  }, destination ?? pino.destination({ dest: 1, sync: false }));
}

/** silentLogger is for unit tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
