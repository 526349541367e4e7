// progress.ts — what each artifact fetch is doing, for logs, /admin/status and readiness: a
// long download logs bytes, rate and ETA every progressIntervalMs, so a 2.5 GB start never
// looks like a hang. Entries are keyed by the configured URI (config-chosen, so bounded).

import type { Logger } from 'pino';

export type Phase = 'listing' | 'waiting' | 'downloading' | 'unpacking' | 'ready' | 'failed';

/** FetchStatus is one artifact's line in /admin/status. */
export interface FetchStatus {
  uri: string;
  /** Who asked for it: `backend "local"`. */
  for: string;
  phase: Phase;
  totalBytes: number;
  doneBytes: number;
  percent: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  /** Served from the cache with no download. */
  cached: boolean;
  /** While waiting: the process holding the lock. */
  holder?: string;
  error?: string;
}

const fetches = new Map<string, Progress>();

/** storageStatus lists every artifact fetch of this process, for /admin/status. */
export function storageStatus(): FetchStatus[] {
  return [...fetches.values()].map((p) => p.status());
}

/** fetchInProgress is the readiness reason while an artifact is still arriving: "downloading model X (41 %)". */
export function fetchInProgress(): string | undefined {
  for (const p of fetches.values()) {
    const reason = arriving(p.status());
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/** fetchReason says how far the fetch of one location got, while it runs (a backend's not-ready reason). */
export function fetchReason(uri: string): string | undefined {
  const p = fetches.get(uri);
  return p === undefined ? undefined : arriving(p.status());
}

function arriving(s: FetchStatus): string | undefined {
  if (s.phase === 'downloading') return `downloading model ${s.uri} for ${s.for} (${s.percent} %)`;
  if (s.phase === 'waiting') return `waiting for ${s.holder ?? 'another process'} to download model ${s.uri} for ${s.for}`;
  if (s.phase === 'listing' || s.phase === 'unpacking') return `${s.phase} model ${s.uri} for ${s.for}`;
  return undefined;
}

/** Progress tracks one artifact fetch. */
export class Progress {
  readonly uri: string;
  #for: string;
  #log: Logger;
  #intervalMs: number;
  #phase: Phase = 'listing';
  #total = 0;
  #done = 0;
  #started = performance.now();
  #rateFrom = { at: performance.now(), bytes: 0 };
  #rate = 0;
  #timer: NodeJS.Timeout | undefined;
  #cached = false;
  #holder: string | undefined;
  #error: string | undefined;

  constructor(uri: string, owner: string, log: Logger, intervalMs: number) {
    this.uri = uri;
    this.#for = owner;
    this.#log = log;
    this.#intervalMs = intervalMs;
    fetches.set(uri, this);
  }

  waiting(holder: string): void {
    this.#phase = 'waiting';
    this.#holder = holder;
  }

  /** downloading starts the byte count and the periodic log line. */
  downloading(totalBytes: number): void {
    this.#phase = 'downloading';
    this.#holder = undefined;
    this.#total = totalBytes;
    this.#started = performance.now();
    this.#rateFrom = { at: this.#started, bytes: 0 };
    this.#timer ??= setInterval(() => this.#report(), this.#intervalMs);
    this.#timer.unref();
  }

  add(bytes: number): void { this.#done += bytes; }

  unpacking(): void { this.#phase = 'unpacking'; }

  ready(cached: boolean): void {
    this.#stop();
    this.#phase = 'ready';
    this.#cached = cached;
    if (!cached) {
      const seconds = (performance.now() - this.#started) / 1000;
      this.#log.info({ uri: this.uri, bytes: this.#done, seconds: round(seconds), bytesPerSecond: Math.round(this.#done / Math.max(seconds, 1e-3)) },
        `downloaded model ${this.uri} (${mb(this.#done)} MB in ${round(seconds)} s)`);
    }
  }

  failed(message: string): void {
    this.#stop();
    this.#phase = 'failed';
    this.#error = message;
  }

  status(): FetchStatus {
    const percent = this.#total > 0 ? Math.floor((this.#done / this.#total) * 100) : this.#phase === 'ready' ? 100 : 0;
    const rate = this.#currentRate();
    return {
      uri: this.uri, for: this.#for, phase: this.#phase, totalBytes: this.#total, doneBytes: this.#done, percent,
      bytesPerSecond: Math.round(rate),
      etaSeconds: this.#phase === 'downloading' && rate > 0 ? Math.ceil((this.#total - this.#done) / rate) : null,
      cached: this.#cached,
      ...(this.#holder === undefined ? {} : { holder: this.#holder }),
      ...(this.#error === undefined ? {} : { error: this.#error }),
    };
  }

  // The rate over the last report interval (the whole download until the first one).
  #currentRate(): number {
    const seconds = (performance.now() - this.#rateFrom.at) / 1000;
    return seconds > 0.2 ? (this.#done - this.#rateFrom.bytes) / seconds : this.#rate;
  }

  #report(): void {
    this.#rate = this.#currentRate();
    this.#rateFrom = { at: performance.now(), bytes: this.#done };
    const s = this.status();
    this.#log.info({ uri: this.uri, doneBytes: s.doneBytes, totalBytes: s.totalBytes, percent: s.percent, bytesPerSecond: Math.round(this.#rate), etaSeconds: s.etaSeconds },
      `downloading model ${this.uri}: ${mb(s.doneBytes)} of ${mb(s.totalBytes)} MB (${s.percent} %), ${mb(this.#rate)} MB/s, ETA ${s.etaSeconds ?? '?'} s`);
  }

  #stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

const round = (n: number): number => Math.round(n * 10) / 10;
const mb = (n: number): number => round(n / 1024 / 1024);
