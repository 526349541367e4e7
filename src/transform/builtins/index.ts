// index.ts — the built-in transform steps by their YAML key: `transform: [{ image: {...} }, ...]`.
// Adding a built-in = one file exporting a StepPlugin + one line here.

import type { StepPlugin } from '../step.ts';
import { image } from './image.ts';
import { labels } from './labels.ts';
import { scale } from './scale.ts';
import { softmax } from './softmax.ts';
import { topk } from './topk.ts';

/** builtinSteps are the steps that run in the gateway itself (no worker), by key. */
export const builtinSteps = {
  image, //   preprocess: encoded images → the model's pixel tensor
  scale, //   preprocess: per-feature StandardScaler / MinMaxScaler values
  softmax, // postprocess: logits → probabilities along the last axis
  topk, //    postprocess: the k best classes
  labels, //  postprocess: class indices and scores → names from a file
} as const satisfies Record<string, StepPlugin>;
