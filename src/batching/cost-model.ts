// cost-model.ts — what the adaptive batcher knows about its backend and its clients: an online
// fit of one call's cost t(n) = a + b·n, the arrival rate of rows, and the wait rule built on both.

/** CostModelOptions tunes how fast the fit forgets. */
export interface CostModelOptions {
  /** Weight kept by the old samples at each new one (0..1); 0.95 ≈ the last 20 batches. */
  forgetting?: number;
  /** Batches seen before the fit is trusted. */
  warmup?: number;
}

/**
 * CostModel fits t(n) = a + b·n (milliseconds) by exponentially weighted least squares, updated
 * on every batch. When the recent batch sizes barely vary, b cannot be told apart from a, so b
 * is pulled toward its previous value (ridge) and the mean cost goes into a: at low load this
 * overstates a little the fixed cost, which only makes the wait rule more cautious.
 */
export class CostModel {
  #gamma: number;
  #warmup: number;
  #s0 = 0;
  #sn = 0;
  #snn = 0;
  #st = 0;
  #snt = 0;
  #seen = 0;
  #a: number | undefined;
  #b: number | undefined;

  constructor(options: CostModelOptions = {}) {
    this.#gamma = options.forgetting ?? 0.95;
    this.#warmup = options.warmup ?? 3;
  }

  /** a is the fitted fixed cost of one call in ms, once warmed up. */
  get a(): number | undefined { return this.#seen >= this.#warmup ? this.#a : undefined; }
  /** b is the fitted cost of one row in ms, once warmed up. */
  get b(): number | undefined { return this.#seen >= this.#warmup ? this.#b : undefined; }

  /** observe adds one batch of `rows` rows that took `ms` milliseconds. */
  observe(rows: number, ms: number): void {
    if (!(ms >= 0) || !(rows > 0) || !Number.isFinite(ms)) return;
    const g = this.#gamma;
    this.#s0 = g * this.#s0 + 1;
    this.#sn = g * this.#sn + rows;
    this.#snn = g * this.#snn + rows * rows;
    this.#st = g * this.#st + ms;
    this.#snt = g * this.#snt + rows * ms;
    this.#seen++;
    const meanN = this.#sn / this.#s0;
    const meanT = this.#st / this.#s0;
    const varN = this.#snn / this.#s0 - meanN * meanN;
    const covNT = this.#snt / this.#s0 - meanN * meanT;
    // Ridge toward the previous slope: with one batch size only (varN = 0) b stays put.
    const ridge = 0.5;
    const prior = this.#b ?? 0;
    const b = Math.max(0, (covNT + ridge * prior) / (Math.max(0, varN) + ridge));
    this.#b = b;
    this.#a = Math.max(0, meanT - b * meanN);
  }

  /** predict gives the expected cost in ms of a batch of n rows (0 before warm-up). */
  predict(n: number): number {
    const a = this.a;
    const b = this.b;
    return a === undefined || b === undefined ? 0 : a + b * n;
  }
}

/**
 * ArrivalRate estimates rows per millisecond with an exponentially decayed count: each arrival
 * adds rows/τ, and the estimate decays as exp(-Δt/τ), so it follows a load step within a few τ.
 */
export class ArrivalRate {
  #tau: number;
  #rate = 0;
  #at = 0;

  constructor(tauMs = 250) {
    this.#tau = tauMs;
  }

  /** record counts `rows` rows arriving at time `now` (ms). */
  record(rows: number, now: number): void {
    this.#rate = this.perMs(now) + rows / this.#tau;
    this.#at = now;
  }

  /** perMs gives the estimated arrival rate at time `now`, in rows per millisecond. */
  perMs(now: number): number {
    const dt = now - this.#at;
    return dt <= 0 ? this.#rate : this.#rate * Math.exp(-dt / this.#tau);
  }
}

/** WaitInputs is what the wait rule looks at when a slot is free and a partial batch is queued. */
export interface WaitInputs {
  /** Rows queued for this batch now. */
  queued: number;
  maxBatchSize: number;
  /** Arrival rate, rows per ms. */
  rate: number;
  /** Fitted fixed and per-row cost, ms. */
  a: number | undefined;
  b: number | undefined;
  /** Time left before the oldest queued request's deadline, ms. */
  slackMs: number;
  /** Longest wait allowed by config (ms); 0 = no cap beyond a. */
  capMs: number;
}

/**
 * adaptiveWait gives how long (ms) to hold a partial batch; 0 means dispatch now. Holding δ
 * costs the `queued` rows δ each, and lets the λ·δ rows arriving meanwhile skip one whole
 * call's fixed cost a instead of waiting for the next call: worth it while λ·a > queued. So
 * it waits for the expected arrivals up to n* = min(maxBatchSize, λ·a), never longer than a,
 * the configured cap, or what the oldest request's deadline leaves after the call itself.
 */
export function adaptiveWait(w: WaitInputs): number {
  if (w.a === undefined || w.b === undefined || w.rate <= 0) return 0;
  const target = Math.min(w.maxBatchSize, w.rate * w.a);
  if (w.queued >= target) return 0;
  let wait = Math.min((target - w.queued) / w.rate, w.a);
  if (w.capMs > 0) wait = Math.min(wait, w.capMs);
  wait = Math.min(wait, w.slackMs - (w.a + w.b * target));
  // Below a twentieth of a millisecond a timer costs more than it can gain.
  return wait > 0.05 ? wait : 0;
}
