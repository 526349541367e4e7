// endpoints.ts — picks one of a backend's URLs per call: the one with the fewest calls in
// flight (least-request, as Envoy's LEAST_REQUEST and Caddy's least_conn do), rotating among
// ties, steering around a URL that just refused connections for a short cooldown, and skipping
// URLs the outlier detector has ejected (outlier.ts) unless every URL is out.

import type { Logger } from 'pino';
import { isBackendFault, type GatewayError } from '../../errors.ts';
import { createOutlierDetector, type OutlierDetectionConfig, type OutlierDetector } from './outlier.ts';

/** EndpointLease is one picked URL; release() must be called exactly once when the call ends. */
export interface EndpointLease {
  url: string;
  release(): void;
}

interface Slot {
  url: string;
  inFlight: number;
  /** performance.now() until which this URL is avoided after a connect failure. */
  coolUntil: number;
}

/** pickerFor makes a backend's picker, with outlier detection when it has several URLs. */
export function pickerFor(backend: string, urls: readonly string[], outlier: Partial<OutlierDetectionConfig> | undefined, log: Logger): EndpointPicker {
  return new EndpointPicker(urls, urls.length < 2 ? {} : { outlier: createOutlierDetector(outlier, { backend, log, endpoints: [...urls] }) });
}

/** EndpointPicker spreads calls over several URLs by fewest in flight. */
export class EndpointPicker {
  #slots: Slot[];
  #next = 0;
  #cooldownMs: number;
  #outlier: OutlierDetector | undefined;
  #probeEjected = new Set<string>();

  constructor(urls: readonly string[], options: { cooldownMs?: number; outlier?: OutlierDetector | undefined } = {}) {
    if (urls.length === 0) throw new Error('EndpointPicker needs at least one URL');
    this.#slots = urls.map((url) => ({ url, inFlight: 0, coolUntil: 0 }));
    this.#cooldownMs = options.cooldownMs ?? 1000;
    this.#outlier = options.outlier;
  }

  /** urls lists the configured URLs, in order. */
  get urls(): string[] { return this.#slots.map((s) => s.url); }

  /** acquire picks the URL with the fewest calls in flight; cooling URLs only when all are. */
  acquire(): EndpointLease {
    const now = performance.now();
    const n = this.#slots.length;
    const outlier = this.#outlier;
    let out = 0;
    if (outlier !== undefined) for (const slot of this.#slots) if (outlier.isEjected(slot.url)) out++;
    // Every URL ejected: use them all rather than fail every call (Envoy's panic mode).
    const skip = out > 0 && out < n ? outlier : undefined;
    let best: Slot | undefined;
    let bestCool = true;
    // Start the scan at a rotating offset so ties spread evenly instead of piling on the first.
    for (let i = 0; i < n; i++) {
      const slot = this.#slots[(this.#next + i) % n]!;
      if (skip?.isEjected(slot.url) === true) continue;
      const cool = slot.coolUntil > now;
      if (best === undefined || (bestCool && !cool) || (cool === bestCool && slot.inFlight < best.inFlight)) {
        best = slot;
        bestCool = cool;
      }
    }
    this.#next = (this.#next + 1) % n;
    const slot = best!;
    slot.inFlight++;
    let released = false;
    return {
      url: slot.url,
      release: () => {
        if (released) return;
        released = true;
        slot.inFlight--;
      },
    };
  }

  /** markFailed avoids a URL for the cooldown after it refused or dropped a connection. */
  markFailed(url: string): void {
    const slot = this.#slots.find((s) => s.url === url);
    if (slot !== undefined) slot.coolUntil = performance.now() + this.#cooldownMs;
  }

  /**
   * record reports how a call to a URL ended, for outlier detection: undefined or a client-side
   * error means the server answered; connect errors, timeouts and 5xx count against it; a
   * client that went away says nothing about the server.
   */
  record(url: string, err?: GatewayError): void {
    if (this.#outlier === undefined || err?.code === 'client_closed') return;
    this.#outlier.record(url, err === undefined || !isBackendFault(err));
  }

  /** recordStatus is record for an answer read as a status: 5xx counts against the URL. */
  recordStatus(url: string, status: number): void {
    this.#outlier?.record(url, status < 500);
  }

  /** probed reports an active health check of one URL: a failure ejects it, a pass restores it. */
  probed(url: string, ok: boolean, reason?: string): void {
    if (this.#outlier === undefined) return;
    if (!ok) {
      this.#outlier.eject(url, reason);
      if (this.#outlier.isEjected(url)) this.#probeEjected.add(url);
    } else if (this.#probeEjected.delete(url)) {
      // Only what a health check took out does a health check bring back: a server whose
      // /health passes while its predictions fail stays out for its ejection time.
      this.#outlier.restore(url);
    }
  }

  /** ejected lists the URLs out for outlier detection now (for /admin/status). */
  ejected(): string[] { return this.#outlier?.ejected() ?? []; }

  /** status gives each URL's calls in flight and whether it is ejected (for /admin/status). */
  status(): Record<string, { inFlight: number; ejected: boolean }> {
    return Object.fromEntries(this.#slots.map((s) => [s.url, { inFlight: s.inFlight, ejected: this.#outlier?.isEjected(s.url) ?? false }]));
  }
}
