// outlier.ts — passive health for backends with several URLs (Envoy outlier detection): an
// endpoint with `consecutive5xx` failures in a row, or a failing health check, is ejected for
// baseEjectionTimeMs × (number of times it was ejected), capped at maxEjectionTimeMs; never more
// than maxEjectionPercent of the endpoints at once (though one may always be); the multiplier
// decays while the endpoint stays healthy. Backends call record() after each call and
// isEjected() when picking an endpoint.

import type { Logger } from 'pino';
import { z } from 'zod';
import { duration } from '../../config/units.ts';

/** outlierDetectionSchema is the `outlierDetection` block of a backend with several urls. */
export const outlierDetectionSchema = z.strictObject({
  consecutive5xx: z.coerce.number().int().min(1).default(5).describe('Failures in a row (connect errors, timeouts, 5xx) that eject an endpoint.'),
  baseEjectionTimeMs: duration.prefault('30s').describe('Ejection time, multiplied by how many times the endpoint was ejected.'),
  maxEjectionTimeMs: duration.prefault('300s').describe('Longest ejection.'),
  maxEjectionPercent: z.coerce.number().min(0).max(100).default(50).describe('Most endpoints ejected at once, as a share (one can always be).'),
}).describe('Passive outlier ejection for a backend with several urls.');

export type OutlierDetectionConfig = z.infer<typeof outlierDetectionSchema>;

/** OutlierDetector is what a backend's endpoint picker uses. */
export interface OutlierDetector {
  /** record reports one call's outcome: ok=false for connect errors, timeouts and 5xx. */
  record(endpoint: string, ok: boolean): void;
  /** eject takes an endpoint out now (a failing health check), within maxEjectionPercent. */
  eject(endpoint: string, reason?: string): void;
  /** restore brings an ejected endpoint back now (a passing health check) and clears its count. */
  restore(endpoint: string): void;
  /** ejected lists the endpoints out at the moment. */
  ejected(): string[];
  /** isEjected says whether one endpoint is out at the moment (the picker asks per call). */
  isEjected(endpoint: string): boolean;
}

interface EndpointState {
  failures: number;
  ejections: number;
  ejectedUntil: number;
  lastChange: number;
}

/** createOutlierDetector makes the detector for one backend; `now` is for tests. */
export function createOutlierDetector(
  config: Partial<OutlierDetectionConfig> | undefined,
  opts: { backend: string; log: Logger; endpoints?: string[]; now?: () => number },
): OutlierDetector {
  const c = outlierDetectionSchema.parse(config ?? {});
  const now = opts.now ?? (() => performance.now());
  const states = new Map<string, EndpointState>();
  const stateOf = (endpoint: string): EndpointState => {
    let s = states.get(endpoint);
    if (s === undefined) {
      s = { failures: 0, ejections: 0, ejectedUntil: 0, lastChange: now() };
      states.set(endpoint, s);
    }
    return s;
  };
  for (const e of opts.endpoints ?? []) stateOf(e);

  const isOut = (s: EndpointState, t: number): boolean => s.ejectedUntil > t;
  const outCount = (t: number): number => [...states.values()].filter((s) => isOut(s, t)).length;

  const eject = (endpoint: string, reason: string): void => {
    const t = now();
    const s = stateOf(endpoint);
    if (isOut(s, t)) return;
    const out = outCount(t);
    if (out > 0 && ((out + 1) / states.size) * 100 > c.maxEjectionPercent) {
      opts.log.warn({ backend: opts.backend, endpoint, reason, ejected: out }, 'endpoint failing but not ejected: maxEjectionPercent reached');
      return;
    }
    s.ejections++;
    const ms = Math.min(c.baseEjectionTimeMs * s.ejections, c.maxEjectionTimeMs);
    s.ejectedUntil = t + ms;
    s.lastChange = t;
    s.failures = 0;
    opts.log.warn({ backend: opts.backend, endpoint, reason, ejectionMs: ms }, `endpoint ${endpoint} ejected for ${ms} ms`);
  };

  return {
    record(endpoint, ok) {
      const s = stateOf(endpoint);
      const t = now();
      if (ok) {
        s.failures = 0;
        // Decay: each base ejection time spent healthy since the last change forgives one ejection.
        if (s.ejections > 0 && !isOut(s, t) && t - Math.max(s.lastChange, s.ejectedUntil) >= c.baseEjectionTimeMs) {
          s.ejections--;
          s.lastChange = t;
        }
        return;
      }
      s.failures++;
      if (s.failures >= c.consecutive5xx) eject(endpoint, `${s.failures} failures in a row`);
    },
    eject(endpoint, reason = 'health check failed') { eject(endpoint, reason); },
    restore(endpoint) {
      const s = stateOf(endpoint);
      s.failures = 0;
      if (isOut(s, now())) {
        s.ejectedUntil = 0;
        s.lastChange = now();
        opts.log.info({ backend: opts.backend, endpoint }, `endpoint ${endpoint} restored`);
      }
    },
    ejected() {
      const t = now();
      return [...states].filter(([, s]) => isOut(s, t)).map(([e]) => e);
    },
    isEjected(endpoint) {
      const s = states.get(endpoint);
      return s !== undefined && isOut(s, now());
    },
  };
}
