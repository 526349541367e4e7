// scaler-values.ts — the numbers of a feature scaler, from an sklearn export (a JSON file) or
// from the config, turned into one per-feature formula. Read once, when the model is built; a
// bad file or bad values are a config error naming the file and the key.

import { readFileSync, statSync } from 'node:fs';
import { GatewayError } from '../../errors.ts';

/** maxScalerFileBytes bounds a scaler file. */
export const maxScalerFileBytes = 16 * 1024 * 1024;
/** maxFeatures bounds the features a scaler may have. */
export const maxFeatures = 100_000;

/**
 * Scaler is per-feature arithmetic: `standard` is (x − center) / divisor (StandardScaler, and
 * data_min/data_max scaling to [0, 1]); `affine` is x · factor + offset (MinMaxScaler's own
 * scale_ and min_).
 */
export type Scaler =
  | { kind: 'standard'; features: number; center: Float64Array; divisor: Float64Array }
  | { kind: 'affine'; features: number; factor: Float64Array; offset: Float64Array };

/** ScalerValues are the key sets a scaler is given by (in a file or in the config). */
export interface ScalerValues {
  mean?: unknown;
  std?: unknown;
  scale?: unknown;
  min?: unknown;
  data_min?: unknown;
  data_max?: unknown;
}

/**
 * readScalerFile reads an sklearn export: {"mean", "scale"} or {"mean", "std"} (StandardScaler:
 * (x − mean) / scale), {"min", "scale"} (MinMaxScaler's min_ and scale_: x · scale + min), or
 * {"data_min", "data_max"} (to [0, 1]). The sklearn attribute spellings with a trailing
 * underscore (mean_, scale_, min_, data_min_, data_max_) are read the same.
 */
export function readScalerFile(path: string): Scaler {
  const fail = (why: string): GatewayError => new GatewayError('bad_config', `scale: scaler file ${path}: ${why}`);
  let doc: unknown;
  try {
    const size = statSync(path).size;
    if (size > maxScalerFileBytes) throw fail(`is ${size} bytes; at most ${maxScalerFileBytes} are read`);
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw fail(code === undefined ? `is not valid JSON (${(err as Error).message})` : `cannot be read (${code})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw fail('is not a JSON object');
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) values[key.endsWith('_') ? key.slice(0, -1) : key] = value;
  return scalerOf(values as ScalerValues, fail);
}

/**
 * scalerOf builds the formula from one key set: mean with std or scale (standard), min with
 * scale (sklearn MinMaxScaler), data_min with data_max (to [0, 1]; a feature whose range is 0
 * is only shifted, as sklearn does). Keys of two sets at once are an error.
 */
export function scalerOf(v: ScalerValues, fail: (why: string) => GatewayError): Scaler {
  const has = (key: keyof ScalerValues): boolean => v[key] !== undefined;
  const sets = [has('mean') && 'mean', has('min') && 'min', (has('data_min') || has('data_max')) && 'data_min/data_max'].filter(Boolean);
  if (sets.length !== 1) {
    throw fail(sets.length === 0
      ? 'has none of the accepted key sets: mean with scale (or std), min with scale, data_min with data_max'
      : `mixes the key sets ${sets.join(' and ')}; give one`);
  }
  if (has('mean')) {
    if (has('scale') && has('std')) throw fail('has both "scale" and "std"; give one');
    const divisorKey = has('std') ? 'std' : 'scale';
    const center = numbers(v.mean, 'mean', fail);
    const divisor = numbers(v[divisorKey], divisorKey, fail, center.length);
    divisor.forEach((d, i) => { if (d === 0) throw fail(`${divisorKey}[${i}] is 0 (a feature cannot be divided by 0)`); });
    return { kind: 'standard', features: center.length, center, divisor };
  }
  if (has('min')) {
    const offset = numbers(v.min, 'min', fail);
    return { kind: 'affine', features: offset.length, factor: numbers(v.scale, 'scale', fail, offset.length), offset };
  }
  const center = numbers(v.data_min, 'data_min', fail);
  const top = numbers(v.data_max, 'data_max', fail, center.length);
  const divisor = top.map((hi, i) => hi - center[i]!);
  divisor.forEach((d, i) => { if (d < 0) throw fail(`data_max[${i}] is below data_min[${i}]`); });
  return { kind: 'standard', features: center.length, center, divisor: divisor.map((d) => (d === 0 ? 1 : d)) };
}

function numbers(value: unknown, key: string, fail: (why: string) => GatewayError, length?: number): Float64Array {
  if (value === undefined) throw fail(`has no "${key}"`);
  if (!Array.isArray(value) || value.length === 0) throw fail(`"${key}" is not a non-empty array of numbers`);
  if (value.length > maxFeatures) throw fail(`"${key}" has ${value.length} values; at most ${maxFeatures} features are allowed`);
  if (length !== undefined && value.length !== length) throw fail(`"${key}" has ${value.length} values where the others have ${length}`);
  value.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw fail(`"${key}"[${i}] is not a finite number`);
  });
  return Float64Array.from(value as number[]);
}
