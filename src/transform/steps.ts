// steps.ts — the transform step registry: each key of a `transform` list item names one step
// kind. A new built-in is one file in builtins/ and one line in builtins/index.ts.

import { builtinSteps } from './builtins/index.ts';
import { moduleStep } from './module.ts';
import type { StepPlugin } from './step.ts';

/** transformSteps maps each step key to its plugin. */
export const transformSteps: Readonly<Record<string, StepPlugin>> = {
  ...builtinSteps,
  module: moduleStep,
};
