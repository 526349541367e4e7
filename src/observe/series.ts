// series.ts — labelled metrics for the ones every request touches (requests, their duration,
// backend calls, requests in flight). prom-client finds a labelled series by a key string it
// builds from the labels object on each call, after checking every label name, and a histogram
// makes two closures and an object per observation; here a series is found by its label values
// through one Map per label (the values are config names and status codes: no string is built)
// and is then a plain object. They register in prom-client's registry and print exactly as its
// own metrics do (test/observe/series.test.ts compares the two texts).
//
// A series lives as long as the process, as prom-client's do: every label value must come from
// a bounded set (config names, outcomes, status codes), never from what a client sends.

import type { Registry } from 'prom-client';

interface SeriesOptions<N extends string> {
  name: string;
  help: string;
  labelNames: readonly N[];
  registers: Registry[];
}

type Labels = Record<string, string>;
interface Sample { value: number; labels: Record<string, string | number>; metricName?: string }

// LabelledSeries holds one S per label-value tuple, in nested Maps one level per label.
abstract class LabelledSeries<S extends { labels: Labels }> {
  name: string;
  readonly help: string;
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  #root = new Map<string, unknown>();
  #all: S[] = [];

  constructor(opts: SeriesOptions<string>) {
    if (opts.labelNames.length < 1 || opts.labelNames.length > 4) throw new Error(`${opts.name}: 1 to 4 labels`);
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = opts.labelNames;
    for (const r of opts.registers) r.registerMetric(this as never);
  }

  /** at gives the series of these label values, in labelNames order (made at first use). */
  at(a: string, b = '', c = '', d = ''): S {
    const depth = this.labelNames.length;
    let level = this.#root;
    if (depth > 1) level = nextLevel(level, a);
    if (depth > 2) level = nextLevel(level, b);
    if (depth > 3) level = nextLevel(level, c);
    const key = depth === 1 ? a : depth === 2 ? b : depth === 3 ? c : d;
    let s = level.get(key) as S | undefined;
    if (s === undefined) {
      const values = [a, b, c, d];
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => { labels[n] = values[i]!; });
      s = this.fresh(labels);
      level.set(key, s);
      this.#all.push(s);
    }
    return s;
  }

  /** reset forgets every series (prom-client's reset). */
  reset(): void {
    this.#root = new Map();
    this.#all = [];
  }

  /** get gives the series as prom-client's registry reads a metric. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const s of this.#all) this.samples(s, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  protected abstract fresh(labels: Labels): S;
  protected abstract samples(s: S, into: Sample[]): void;
}

function nextLevel(level: Map<string, unknown>, key: string): Map<string, unknown> {
  let next = level.get(key) as Map<string, unknown> | undefined;
  if (next === undefined) level.set(key, next = new Map());
  return next;
}

/** CountedSeries is one series of a counter or a gauge. */
export class CountedSeries {
  value = 0;
  readonly labels: Labels;
  constructor(labels: Labels) { this.labels = labels; }
  inc(by = 1): void { this.value += by; }
  dec(by = 1): void { this.value -= by; }
}

/** CounterSeries is a counter: each series only goes up. */
export class CounterSeries<N extends string> extends LabelledSeries<CountedSeries> {
  readonly type = 'counter';
  constructor(opts: SeriesOptions<N>) { super(opts); }
  protected fresh(labels: Labels): CountedSeries { return new CountedSeries(labels); }
  protected samples(s: CountedSeries, into: Sample[]): void { into.push({ value: s.value, labels: s.labels }); }
}

/** GaugeSeries is a gauge: each series goes up and down. */
export class GaugeSeries<N extends string> extends LabelledSeries<CountedSeries> {
  readonly type = 'gauge';
  constructor(opts: SeriesOptions<N>) { super(opts); }
  protected fresh(labels: Labels): CountedSeries { return new CountedSeries(labels); }
  protected samples(s: CountedSeries, into: Sample[]): void { into.push({ value: s.value, labels: s.labels }); }
}

/** ObservedSeries is one series of a histogram: a count per bucket (not cumulative), sum and count. */
export class ObservedSeries {
  sum = 0;
  count = 0;
  readonly counts: Float64Array;
  readonly labels: Labels;
  readonly bounds: Float64Array;
  constructor(labels: Labels, bounds: Float64Array) {
    this.labels = labels;
    this.bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    const bounds = this.bounds;
    // Latencies fall in the first buckets: a walk from the bottom beats a bisection here.
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

/** HistogramSeries is a histogram over fixed bucket bounds, printed with _bucket, _sum and _count. */
export class HistogramSeries<N extends string> extends LabelledSeries<ObservedSeries> {
  readonly type = 'histogram';
  readonly #bounds: Float64Array;
  constructor(opts: SeriesOptions<N> & { buckets: readonly number[] }) {
    super(opts);
    this.#bounds = Float64Array.from([...opts.buckets].sort((x, y) => x - y));
  }

  protected fresh(labels: Labels): ObservedSeries { return new ObservedSeries(labels, this.#bounds); }

  protected samples(s: ObservedSeries, into: Sample[]): void {
    const bucket = `${this.name}_bucket`;
    let total = 0;
    for (let i = 0; i < s.bounds.length; i++) {
      total += s.counts[i]!;
      into.push({ value: total, labels: { le: s.bounds[i]!, ...s.labels }, metricName: bucket });
    }
    into.push({ value: s.count, labels: { le: '+Inf', ...s.labels }, metricName: bucket });
    into.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
    into.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
  }
}

// The text of every HTTP status code, made once: a label value without a string per request.
const codeTexts = Array.from({ length: 600 }, (_, i) => String(i));

/** codeLabel gives a status code as its label value. */
export function codeLabel(code: number): string {
  return codeTexts[code] ?? String(code);
}
