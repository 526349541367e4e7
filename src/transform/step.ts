// step.ts — the shape of one transform step (a built-in or a module) and of its registry entry.
// A model's `transform` is a list of steps: the request goes down the list through each step's
// preprocess, then to the model, then the answer goes down the list through each postprocess.

import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { ModelMetadata } from '../tensors/tensor.ts';
import type { TransformRequest, TransformResponse } from './contract.ts';

/** StepRequest is a request between steps; `body` is the client's bytes, when it sent any. */
export interface StepRequest extends Omit<TransformRequest, 'body'> {
  body?: Buffer;
}

/** Answer is what a postprocess returned that is not {predictions} or {outputs}: written as is. */
export type Answer =
  | { kind: 'json'; value: unknown }
  | { kind: 'bytes'; body: Buffer; contentType: string };

/** StepResponse is an answer between steps: the model's form, or, once a step made one, its own. */
export interface StepResponse extends TransformResponse {
  answer?: Answer;
}

/** StepCall is the call a step works for: its deadline and cancellation, and its logger. */
export interface StepCall {
  signal: AbortSignal;
  /** Absolute deadline, performance.now() milliseconds. */
  deadline: number;
  log: Logger;
}

/** TransformStep is one built step of a model's transform. */
export interface TransformStep {
  /** Names the step in errors and status: "image", "module transforms/iris.ts". */
  name: string;
  /** True when preprocess accepts a body that is not rows or tensors (an image, a JSON shape of its own). */
  takesPayload?: boolean;
  /** Changes the request on its way to the model. Throws GatewayError('bad_request') for a bad one. */
  preprocess?(req: StepRequest, call: StepCall): StepRequest | Promise<StepRequest>;
  /** Changes the answer on its way out; `req` is the request as this step's preprocess got it. */
  postprocess?(res: StepResponse, req: StepRequest, call: StepCall): StepResponse | Promise<StepResponse>;
  /** Resolves when the step can serve (a module's load()), rejects with why it cannot. */
  load?(): Promise<void>;
  status?(): unknown;
  close?(): Promise<void>;
}

/** StepDeps is what a step is built with. */
export interface StepDeps {
  /** The gateway model. */
  model: string;
  log: Logger;
  /** The model's metadata as its first target reports it (input names, shapes, datatypes). */
  metadata(): Promise<ModelMetadata>;
}

/**
 * StepPlugin is a step kind's registry entry: `transform: [{ <key>: <config> }]`. `files` names the
 * config keys that are paths, resolved against the config file's folder when the config is loaded.
 */
export interface StepPlugin<C = any> {
  key: string;
  /** True when the step, first in a list, reads bodies that are not rows or tensors (the frontend hands them on). */
  takesPayload?: boolean;
  schema: ZodType<C>;
  files?: readonly string[];
  create(config: C, deps: StepDeps): TransformStep;
}
