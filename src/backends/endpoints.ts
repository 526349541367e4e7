// endpoints.ts — picks one of a backend's URLs per call: the one with the fewest calls in
// flight (least-request, as Envoy's LEAST_REQUEST and Caddy's least_conn do), rotating among
// ties, and steering around a URL that just refused connections for a short cooldown.

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

/** EndpointPicker spreads calls over several URLs by fewest in flight. */
export class EndpointPicker {
  #slots: Slot[];
  #next = 0;
  #cooldownMs: number;

  constructor(urls: readonly string[], cooldownMs = 1000) {
    if (urls.length === 0) throw new Error('EndpointPicker needs at least one URL');
    this.#slots = urls.map((url) => ({ url, inFlight: 0, coolUntil: 0 }));
    this.#cooldownMs = cooldownMs;
  }

  /** urls lists the configured URLs, in order. */
  get urls(): string[] { return this.#slots.map((s) => s.url); }

  /** acquire picks the URL with the fewest calls in flight; cooling URLs only when all are. */
  acquire(): EndpointLease {
    const now = performance.now();
    const n = this.#slots.length;
    let best: Slot | undefined;
    let bestCool = true;
    // Start the scan at a rotating offset so ties spread evenly instead of piling on the first.
    for (let i = 0; i < n; i++) {
      const slot = this.#slots[(this.#next + i) % n]!;
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

  /** inFlight gives the calls in flight per URL (for /admin/status). */
  inFlight(): Record<string, number> {
    return Object.fromEntries(this.#slots.map((s) => [s.url, s.inFlight]));
  }
}
