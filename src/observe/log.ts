// log.ts — pino JSON lines with `severity` (Cloud Logging reads it) and secrets redacted.

import { pino, type Logger, type LevelWithSilent } from 'pino';

const severity: Record<string, string> = {
  trace: 'DEBUG', debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR', fatal: 'CRITICAL',
};

/** redactedHeaders are the request headers whose values never reach a log line or a payload log event. */
export const redactedHeaders = ['authorization', 'x-api-key', 'proxy-authorization', 'cookie'] as const;

/** isRedactedHeader says whether a header's value is kept out of logs (name in any case). */
export function isRedactedHeader(name: string): boolean {
  return (redactedHeaders as readonly string[]).includes(name.toLowerCase());
}

/** redactPaths lists the fields that never reach a log line. */
export const redactPaths = [
  ...redactedHeaders.flatMap((h) => (/^[a-z]+$/.test(h) ? [`req.headers.${h}`, `headers.${h}`] : [`req.headers["${h}"]`, `headers["${h}"]`])),
  'authorization', 'apiKey', 'token', 'adminToken',
];

/** createLogger makes the process logger; tests pass a destination to capture lines. */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino({
    level,
    base: { service: 'infergate' },
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
