// log.ts — pino JSON lines with `severity` (Cloud Logging reads it) and secrets redacted.
// No line carries a key twice: pino writes a child's bindings and then the call's fields as they
// come, so a call that repeats a bound key (or a child that rebinds one) would write it twice, and
// JSON readers disagree on which one counts (JSON.parse keeps the last, some keep the first).

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

// The keys every line starts with (the level formatter's and the timestamp), before the bindings.
const lineKeys = ['severity', 'level', 'time'];
const messageKey = 'message';
/** A call's field whose key is taken and whose value differs goes here, so nothing is lost. */
export const repeatedKey = 'repeated';

const { chindingsSym } = pino.symbols;
const boundOf = new WeakMap<object, Record<string, unknown>>();

/**
 * createLogger makes the process logger; tests pass a destination to capture lines. `revision`
 * (Cloud Run's and Knative's K_REVISION) goes on every line, so a rollout's lines tell apart.
 */
export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream, revision = ''): Logger {
  return pino({
    level,
    base: revision === '' ? { service: 'infergate' } : { service: 'infergate', revision },
    messageKey,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ severity: severity[label] ?? 'DEFAULT', level: label }),
    },
    redact: { paths: redactPaths, censor: '[redacted]' },
    // A child that rebinds a key keeps one copy, the child's (as a reader would expect).
    onChild: (child) => { (child as unknown as Record<symbol, string>)[chindingsSym] = uniqueBindings((child as unknown as Record<symbol, string>)[chindingsSym] ?? ''); },
    hooks: {
      logMethod(args, method) {
        const fields: unknown = args[0];
        if (typeof fields === 'object' && fields !== null && !(fields instanceof Error)) {
          (args as unknown[])[0] = withoutRepeats(this, fields as Record<string, unknown>, typeof args[1] === 'string');
        }
        return method.apply(this, args);
      },
    },
  }, destination ?? pino.destination({ dest: 1, sync: false }));
}

// uniqueBindings rewrites pino's serialized bindings (`,"a":1,"b":2`) with each key once, the last value.
function uniqueBindings(chindings: string): string {
  if (chindings === '') return chindings;
  const text = JSON.stringify(JSON.parse(`{${chindings.slice(1)}}`));
  return text === '{}' ? '' : `,${text.slice(1, -1)}`;
}

// withoutRepeats drops the call's fields that the line already carries with the same value, and
// moves those it carries with another value under `repeated`.
function withoutRepeats(log: Logger, fields: Record<string, unknown>, hasMessage: boolean): Record<string, unknown> {
  let bound = boundOf.get(log);
  if (bound === undefined) { bound = log.bindings(); boundOf.set(log, bound); }
  let out: Record<string, unknown> | undefined;
  let moved: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    if (!(key in bound || lineKeys.includes(key) || (hasMessage && key === messageKey))) continue;
    out ??= { ...fields };
    delete out[key];
    if (key in bound && JSON.stringify(bound[key]) === JSON.stringify(fields[key])) continue;
    (moved ??= {})[key] = fields[key];
  }
  if (out === undefined) return fields;
  // (A child bound to `repeated` itself, which nothing here makes, would lose the moved fields.)
  if (moved !== undefined && !(repeatedKey in bound)) out[repeatedKey] = repeatedKey in out ? { ...moved, [repeatedKey]: out[repeatedKey] } : moved;
  return out;
}

/** silentLogger is for unit tests that do not look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
