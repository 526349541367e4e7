// iris.ts — the transform module of examples/vertex-preprocess: the pre- and postprocessing a
// Vertex "custom container" would put in a Python shim, done by the gateway itself.
//   preprocess: {"instances": [{"sepal_length_mm": 51, ...}]} — named measurements in millimetres,
//               as a field app records them — are checked (a missing or non-numeric one is a 400
//               naming it) and scaled with scaler.json into the rows of centimetres the model takes;
//   postprocess: the model's {label, probabilities} per row becomes the class's name and its
//               probability: {"class": "setosa", "probability": 0.97}.
// scaler.json is in scikit-learn's StandardScaler form, x' = (x - mean) / scale, read once by load().
// The bundled iris model takes raw centimetres (its standardization is folded into its weights),
// so the scaler here converts units (mean 0, scale 10); a model exported without its scaler would
// ship that scaler's mean_ and scale_ in this file instead, with no change to this code.

// Only types come from the gateway (`import type` is erased when the module loads), and the 400
// error is context.badRequest(): the file works as is when copied out of this repository.

import { readFile } from 'node:fs/promises';
import type { Load, Postprocess, Preprocess, TransformContext } from 'infergate/transform';

/** The features the model takes, in its input's column order. */
export const features = ['sepal_length_mm', 'sepal_width_mm', 'petal_length_mm', 'petal_width_mm'] as const;
/** The model's classes, in the order of its `probabilities` output. */
export const classes = ['setosa', 'versicolor', 'virginica'] as const;

interface Scaler { mean: number[]; scale: number[] }

export const load: Load = async (context) => {
  const doc = JSON.parse(await readFile(new URL('./scaler.json', import.meta.url), 'utf8')) as Partial<Scaler>;
  const usable = (v: unknown, nonZero: boolean): v is number[] =>
    Array.isArray(v) && v.length === features.length && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!nonZero || x !== 0));
  if (!usable(doc.mean, false) || !usable(doc.scale, true)) {
    throw new Error(`scaler.json needs "mean" and "scale": ${features.length} finite numbers each, no scale of 0`);
  }
  context.state.scaler = { mean: doc.mean, scale: doc.scale } satisfies Scaler;
  context.log.info({ scaler: context.state.scaler }, 'iris scaler loaded');
};

export const preprocess: Preprocess = (request, context) => {
  const { mean, scale } = scalerOf(context);
  if (!Array.isArray(request.instances) || request.instances.length === 0) {
    throw context.badRequest(`send {"instances": [{${features.map((f) => `"${f}": ...`).join(', ')}}]}: one or more records of measurements in millimetres`);
  }
  const rows = request.instances.map((record, i) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw context.badRequest(`instance ${i} is not a record of named measurements: send {${features.map((f) => `"${f}": ...`).join(', ')}}`);
    }
    return features.map((name, j) => {
      const value = (record as Record<string, unknown>)[name];
      if (value === undefined) throw context.badRequest(`instance ${i} has no "${name}" (each needs ${features.join(', ')}, in millimetres)`);
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw context.badRequest(`instance ${i}: "${name}" must be a length in millimetres (a number, 0 or more), not ${JSON.stringify(value)}`);
      }
      return (value - mean[j]!) / scale[j]!;
    });
  });
  return { instances: rows, parameters: request.parameters };
};

export const postprocess: Postprocess = (response) => {
  const predictions = response.predictions;
  if (!Array.isArray(predictions)) throw new Error('the iris model answered without predictions');
  return {
    predictions: predictions.map((p) => {
      const probabilities = (p as { probabilities?: unknown }).probabilities;
      if (!Array.isArray(probabilities) || probabilities.length !== classes.length) {
        throw new Error(`the iris model answered ${JSON.stringify(p)}, not {probabilities: [${classes.length} numbers]}`);
      }
      const best = probabilities.reduce<number>((b, v, k) => (Number(v) > Number(probabilities[b]) ? k : b), 0);
      return { class: classes[best], probability: Number(probabilities[best]) };
    }),
  };
};

function scalerOf(context: TransformContext): Scaler {
  const scaler = context.state.scaler as Scaler | undefined;
  if (scaler === undefined) throw new Error('load() did not run: no scaler');
  return scaler;
}
