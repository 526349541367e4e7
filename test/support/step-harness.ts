// step-harness.ts (test support) — runs one transform step outside a gateway: the deps a step is
// built with (a fixed model metadata), a call (signal, deadline, logger), requests and answers
// in the shape steps pass between them, and a check for the GatewayError a step rejects with.

import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { ModelMetadata } from '../../src/tensors/tensor.ts';
import type { StepCall, StepDeps, StepPlugin, StepRequest, StepResponse, TransformStep } from '../../src/transform/step.ts';

/** testMetadata is a model with one input "pixels" and one output "probs". */
export const testMetadata: ModelMetadata = {
  name: 'm', platform: 'test',
  inputs: [{ name: 'pixels', datatype: 'FP32', shape: [-1, 3, -1, -1] }],
  outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, -1] }],
};

/** stepDeps are a step's deps for model "m"; metadata() counts its calls. */
export function stepDeps(metadata: ModelMetadata = testMetadata): StepDeps & { metadataCalls: number } {
  const deps = {
    model: 'm', log: silentLogger, metadataCalls: 0,
    metadata: async () => { deps.metadataCalls++; return metadata; },
  };
  return deps;
}

/** stepCall is a call with a long deadline; pass a signal to abort it. */
export function stepCall(signal: AbortSignal = new AbortController().signal): StepCall {
  return { signal, deadline: performance.now() + 60_000, log: silentLogger };
}

/** buildStep parses `config` with the plugin's schema (as the config loader does) and creates the step. */
export function buildStep<C>(plugin: StepPlugin<C>, config: unknown, deps: StepDeps = stepDeps()): TransformStep {
  return plugin.create(plugin.schema.parse(config), deps);
}

/** stepRequest is a request as a step gets it: JSON by default. */
export function stepRequest(fields: Partial<StepRequest> = {}): StepRequest {
  return { headers: {}, contentType: 'application/json', ...fields };
}

/** preprocess runs a step's preprocess. */
export async function preprocess(step: TransformStep, req: StepRequest, call: StepCall = stepCall()): Promise<StepRequest> {
  assert.ok(step.preprocess, `${step.name} has no preprocess`);
  return step.preprocess(req, call);
}

/** postprocess runs a step's postprocess on an answer. */
export async function postprocess(step: TransformStep, res: StepResponse, req: StepRequest = stepRequest()): Promise<StepResponse> {
  assert.ok(step.postprocess, `${step.name} has no postprocess`);
  return step.postprocess(res, req, stepCall());
}

/** rejectsWith checks that `work` fails with a GatewayError of `code` and a message matching `pattern`. */
export async function rejectsWith(work: Promise<unknown> | (() => unknown), code: string, pattern: RegExp): Promise<GatewayError> {
  let caught: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof GatewayError, `expected a GatewayError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

const utf8 = new TextDecoder();

/** texts reads a BYTES tensor's elements as strings. */
export function texts(data: unknown): string[] {
  return (data as Uint8Array[]).map((b) => utf8.decode(b));
}
