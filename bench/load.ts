// load.ts — an open-loop load generator: requests leave at fixed arrival times whatever the
// server does, and each latency is measured from the time the request was *due*, not from when
// it was sent, so a stalled server cannot hide its stall (no coordinated omission).
// Usage: const r = await openLoop({ url, rate: 500, durationMs: 5000, body: '{"instances":[[1]]}' })

import { Pool } from 'undici';

/** Phase is one step of a load profile: `rate` requests per second for `durationMs`. */
export interface Phase { rate: number; durationMs: number }

export interface OpenLoopOptions {
  url: string;
  /** Requests per second, or a profile of phases run back to back (load steps). */
  rate: number | Phase[];
  /** Length of a constant-rate run (ignored with phases). */
  durationMs?: number;
  /** Request body; a function gets the request's index (to make each one checkable). */
  body: string | ((i: number) => string);
  headers?: Record<string, string>;
  method?: string;
  /** Exponential gaps (a Poisson process, the default) or exactly 1/rate apart. */
  arrivals?: 'poisson' | 'uniform';
  /** Connections to open at most; requests beyond them wait (and that wait is counted). */
  connections?: number;
  /** Latency bound for goodput (ms); default: every 2xx counts. */
  sloMs?: number;
  /** Checks an answer; false counts the request as an error ("wrong"). */
  check?: (i: number, body: string) => boolean;
  /** Width of the time windows in `series` (ms). */
  windowMs?: number;
  /** How long to wait for stragglers after the last request is due. */
  drainMs?: number;
}

export interface LatencySummary { sent: number; ok: number; errors: number; p50: number; p90: number; p99: number; p999: number; max: number; mean: number }

export interface OpenLoopResult extends LatencySummary {
  durationMs: number;
  /** Offered and achieved (answered 2xx) rates, per second. */
  offered: number;
  throughput: number;
  /** 2xx answers within sloMs, answered during the run, per second. */
  goodput: number;
  /** Count per HTTP status, plus "error" (connection) and "wrong" (check failed), "timeout". */
  statuses: Record<string, number>;
  phases?: Array<Phase & LatencySummary & { goodput: number }>;
  /** Per window of due time: requests due, 2xx, p50 and p99 of those (ms). */
  series: Array<{ tMs: number; sent: number; ok: number; p50: number; p99: number }>;
}

interface Sample { due: number; latency: number; ok: boolean }

// A request counts toward goodput only if it was answered (2xx, within sloMs) inside the
// window: answers drained after the run would otherwise inflate it past what the server carries.

/** openLoop runs one open-loop load and summarises latency (ms), throughput and goodput. */
export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const phases: Phase[] = typeof o.rate === 'number' ? [{ rate: o.rate, durationMs: o.durationMs ?? 5000 }] : o.rate;
  const total = phases.reduce((s, p) => s + p.durationMs, 0);
  const url = new URL(o.url);
  const pool = new Pool(url.origin, { connections: o.connections ?? 512, pipelining: 1, keepAliveTimeout: 30_000 });
  const headers = { 'content-type': 'application/json', ...o.headers };
  const bodyOf = typeof o.body === 'string' ? (() => o.body as string) : o.body;
  const samples: Sample[] = [];
  const statuses: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  const count = (k: string): void => { statuses[k] = (statuses[k] ?? 0) + 1; };

  const fire = (i: number, due: number): void => {
    const sample: Sample = { due, latency: Number.NaN, ok: false };
    samples.push(sample);
    const p = pool.request({ method: o.method ?? 'POST', path: url.pathname + url.search, headers, body: bodyOf(i) })
      .then(async (res) => {
        const text = await res.body.text();
        sample.latency = performance.now() - due;
        const good = res.statusCode >= 200 && res.statusCode < 300;
        if (good && o.check !== undefined && !o.check(i, text)) {
          count('wrong');
          return;
        }
        count(String(res.statusCode));
        sample.ok = good;
      }, () => {
        sample.latency = performance.now() - due;
        count('error');
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const t0 = performance.now() + 5;
  await new Promise<void>((resolve) => {
    let i = 0;
    let phase = 0;
    let phaseStart = t0;
    let nextAt = t0;
    const gap = (): number => {
      const mean = 1000 / phases[phase]!.rate;
      return o.arrivals === 'uniform' ? mean : -Math.log(1 - Math.random()) * mean;
    };
    const tick = (): void => {
      const now = performance.now();
      while (nextAt <= now) {
        while (phase < phases.length && nextAt >= phaseStart + phases[phase]!.durationMs) {
          phaseStart += phases[phase]!.durationMs;
          phase++;
        }
        if (phase >= phases.length) {
          resolve();
          return;
        }
        fire(i++, nextAt);
        nextAt += gap();
      }
      // NOTE: a late timer only delays sending; latency still counts from `nextAt`.
      setTimeout(tick, Math.max(0, nextAt - performance.now() - 0.5));
    };
    nextAt = t0 + gap();
    setTimeout(tick, Math.max(0, nextAt - performance.now()));
  });
  const drain = new Promise((r) => setTimeout(r, o.drainMs ?? 10_000).unref());
  await Promise.race([Promise.allSettled([...inFlight]), drain]);
  for (const s of samples) if (Number.isNaN(s.latency)) count('timeout');
  await pool.destroy();

  const slo = o.sloMs ?? Infinity;
  const summary = summarise(samples);
  const good = (s: Sample, from: number, to: number): boolean => s.ok && s.latency <= slo && s.due + s.latency >= from && s.due + s.latency < to;
  const goodCount = samples.filter((s) => good(s, t0, t0 + total)).length;
  let start = t0;
  const phaseResults = phases.map((p) => {
    const from = start;
    const inPhase = samples.filter((s) => s.due >= from && s.due < from + p.durationMs);
    start += p.durationMs;
    return { ...p, ...summarise(inPhase), goodput: round(samples.filter((s) => good(s, from, from + p.durationMs)).length / (p.durationMs / 1000)) };
  });
  const windowMs = o.windowMs ?? 250;
  const series: OpenLoopResult['series'] = [];
  for (let w = 0; w < total; w += windowMs) {
    const inWindow = samples.filter((s) => s.due >= t0 + w && s.due < t0 + w + windowMs);
    const s = summarise(inWindow);
    series.push({ tMs: w, sent: s.sent, ok: s.ok, p50: s.p50, p99: s.p99 });
  }
  return {
    ...summary,
    durationMs: total,
    offered: round(samples.length / (total / 1000)),
    throughput: round(summary.ok / (total / 1000)),
    goodput: round(goodCount / (total / 1000)),
    statuses,
    ...(phases.length > 1 ? { phases: phaseResults } : {}),
    series,
  };
}

/** summarise gives latency percentiles (ms) of the answered 2xx samples, plus counts. */
export function summarise(samples: Array<{ latency: number; ok: boolean }>): LatencySummary {
  const ok = samples.filter((s) => s.ok).map((s) => s.latency).sort((x, y) => x - y);
  const q = (p: number): number => (ok.length === 0 ? Number.NaN : round(ok[Math.min(ok.length - 1, Math.ceil(p * ok.length) - 1)]!));
  const mean = ok.length === 0 ? Number.NaN : round(ok.reduce((s, v) => s + v, 0) / ok.length);
  return { sent: samples.length, ok: ok.length, errors: samples.length - ok.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: q(1), mean };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
