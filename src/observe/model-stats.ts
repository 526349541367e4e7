// model-stats.ts — what each target measures of its calls, kept as Triton's statistics extension
// counts it (server/docs/protocol/extension_statistics.md): successful and failed requests with
// their total time, the backend executions (a batch is one) by batch size, and the rows served.
// GET /v2/models/{m}/stats writes it; Prometheus metrics stay the place for rates and quantiles.

import { queueDelay } from './metrics.ts';

/** DurationStat is Triton's `$duration_stat`: a count and a total in nanoseconds. */
export interface DurationStat { count: number; ns: number }

/** Distinct batch sizes kept per target: sizes come from clients' row counts when nothing batches. */
const maxBatchSizes = 1024;

const zero = (): DurationStat => ({ count: 0, ns: 0 });
const add = (d: DurationStat, ns: number): void => { d.count++; d.ns += ns; };

/** TargetStats is one target's counts since it was built (a reload that keeps the target keeps them). */
export class TargetStats {
  lastInference = 0;
  inferenceCount = 0;
  executionCount = 0;
  readonly success = zero();
  readonly fail = zero();
  readonly computeInfer = zero();
  readonly #batches = new Map<number, DurationStat>();

  /** call records one request through the target's whole path (queue, guards, retries). */
  call(ok: boolean, rows: number, ns: number): void {
    this.lastInference = Date.now();
    if (!ok) { add(this.fail, ns); return; }
    add(this.success, ns);
    this.inferenceCount += rows;
  }

  /** execution records one backend call (a whole batch when the batcher merged requests). */
  execution(ok: boolean, rows: number, ns: number): void {
    if (!ok) return; // Triton counts successful executions only
    this.executionCount++;
    add(this.computeInfer, ns);
    let size = this.#batches.get(rows);
    if (size === undefined && this.#batches.size < maxBatchSizes) this.#batches.set(rows, size = zero());
    if (size !== undefined) add(size, ns);
  }

  /** batches lists the executions by batch size, smallest first. */
  batches(): Array<[number, DurationStat]> {
    return [...this.#batches.entries()].sort((a, b) => a[0] - b[0]);
  }
}

/** StatsSource is one target as the stats of its model read it: its counts and its metric labels. */
export interface StatsSource { stats: TargetStats; labels: readonly string[] }

/**
 * modelStatistics writes one `$model_stat` over the targets serving a model (version): their
 * counts summed. The queue time is the batch queue's (infergate_queue_delay_seconds of the
 * targets); compute_infer is the backend call as the gateway times it, which holds the server's
 * input, inference and output work, so compute_input and compute_output stay zero.
 */
export async function modelStatistics(name: string, version: string | undefined, sources: readonly StatsSource[]): Promise<Record<string, unknown>> {
  const success = zero();
  const fail = zero();
  const infer = zero();
  const batches = new Map<number, DurationStat>();
  let last = 0;
  let inferences = 0;
  let executions = 0;
  for (const { stats } of sources) {
    last = Math.max(last, stats.lastInference);
    inferences += stats.inferenceCount;
    executions += stats.executionCount;
    for (const [into, from] of [[success, stats.success], [fail, stats.fail], [infer, stats.computeInfer]] as const) { into.count += from.count; into.ns += from.ns; }
    for (const [size, d] of stats.batches()) {
      const into = batches.get(size) ?? zero();
      into.count += d.count; into.ns += d.ns;
      batches.set(size, into);
    }
  }
  const queue = await queueOf(new Set(sources.flatMap((s) => s.labels)));
  return {
    name,
    ...(version === undefined ? {} : { version }),
    last_inference: last,
    inference_count: inferences,
    execution_count: executions,
    inference_stats: { success, fail, queue, compute_input: zero(), compute_infer: infer, compute_output: zero(), cache_hit: zero() },
    batch_stats: [...batches.entries()].sort((a, b) => a[0] - b[0]).map(([size, d]) => ({
      batch_size: size, compute_input: zero(), compute_infer: { ...d }, compute_output: zero(),
    })),
  };
}

// queueOf sums the batch queue's waits of the labelled targets from the histogram the batcher feeds.
async function queueOf(labels: ReadonlySet<string>): Promise<DurationStat> {
  const out = zero();
  for (const v of (await queueDelay.get()).values) {
    if (!labels.has(String(v.labels.target))) continue;
    if (v.metricName === 'infergate_queue_delay_seconds_count') out.count += v.value;
    else if (v.metricName === 'infergate_queue_delay_seconds_sum') out.ns += Math.round(v.value * 1e9);
  }
  return out;
}
