// units.ts — size ("10mb", "512kb", 1048576) and duration ("30s", "250ms", 5000) values in config.

import { z } from 'zod';

const sizeUnits: Record<string, number> = { b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 };
const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** parseSize reads "10mb", "1.5 MB", "512kb" or a plain byte count; undefined when malformed. */
export function parseSize(value: unknown): number | undefined {
  return parseUnit(value, sizeUnits, 'b');
}

/** parseDuration reads "30s", "250ms", "2m" or plain milliseconds; undefined when malformed. */
export function parseDuration(value: unknown): number | undefined {
  return parseUnit(value, durationUnits, 'ms');
}

function parseUnit(value: unknown, units: Record<string, number>, plain: string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (m === null) return undefined;
  const factor = units[(m[2] || plain).toLowerCase()];
  return factor === undefined ? undefined : Math.round(Number(m[1]) * factor);
}

/** size is a zod type for byte sizes. */
export const size = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a size such as 10mb, 512kb or a byte count, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

/**
 * The longest duration a config may give: Node's timers take at most 2^31−1 ms (about 24.8
 * days) and fire at once (after 1 ms) for anything longer, so a longer timeout would time
 * every request out.
 */
export const maxDurationMs = 2 ** 31 - 1;

/** duration is a zod type for durations in milliseconds, at most maxDurationMs. */
export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = parseDuration(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `expected a duration such as 30s, 250ms or milliseconds, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  if (n > maxDurationMs) {
    ctx.addIssue({ code: 'custom', message: `duration ${JSON.stringify(v)} is too long: at most ${maxDurationMs} ms (about 24.8 days, ${Math.floor(maxDurationMs / 3_600_000)}h), the longest a Node timer can wait` });
    return z.NEVER;
  }
  return n;
});
