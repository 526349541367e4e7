// contract.ts — what a transform module sees and returns: the typings a user's editor completes
// (`import type { Preprocess } from 'infergate/transform'`), and badRequest(), the one error a
// module throws to answer 400 instead of 500. Imports nothing at run time, so a module that
// imports it loads in a worker thread without the gateway. Inside this package (examples/)
// `infergate/transform` resolves to this file; elsewhere a module uses `context.badRequest`, and
// for types a path or `import type` (erased at load).

import type { Parameters, RequestedOutput, Tensor } from '../tensors/tensor.ts';

export type { Parameters, RequestedOutput, Tensor };

/**
 * TransformRequest is a predict request as a transform sees it. The frontend fills what it could
 * decode: `instances` (rows) or `inputs` (v2 tensors), never both; neither when the body is not
 * JSON rows or tensors (an image, CSV, a JSON shape of the module's own), which `body` then holds.
 */
export interface TransformRequest {
  instances?: unknown[];
  parameters?: Parameters;
  inputs?: Tensor[];
  /** The v2 outputs the client asked for, when it did. */
  outputs?: RequestedOutput[];
  /** The client's request headers, lower-cased. */
  headers: Record<string, string | string[] | undefined>;
  /** The request's media type ('' when none was sent), e.g. "application/json", "image/png". */
  contentType: string;
  /** The body's bytes as they came (after Content-Encoding is undone). */
  body?: Uint8Array;
}

/**
 * TransformResponse is the model's answer as a postprocess step gets it: `predictions` (one per
 * instance) when rows went in, `outputs` (v2 tensors) when tensors did. A postprocess may return
 * one of these, or an answer of its own: any JSON value, or `{ body, contentType }` bytes.
 */
export interface TransformResponse {
  predictions?: unknown[];
  outputs?: Tensor[];
  parameters?: Parameters;
}

/** TransformBytes is an answer that is bytes (an image, CSV): written as is, with its content type. */
export interface TransformBytes {
  body: Uint8Array | string;
  contentType: string;
}

/** TransformContext is handed to every call of a module: the same object for load and each request. */
export interface TransformContext {
  /** The gateway model the module transforms for. */
  model: string;
  /** The `options` block of the module's step in the config, as written. */
  options: Record<string, unknown>;
  /** A logger (pino's interface: info, warn, error, debug). */
  log: { info(...a: unknown[]): void; warn(...a: unknown[]): void; error(...a: unknown[]): void; debug(...a: unknown[]): void };
  /** A place to keep what load() read (tokenizers, vocabularies, scalers): it lives as long as the worker. */
  state: Record<string, unknown>;
  /** badRequest() as a context method, for a module that imports nothing: `throw context.badRequest('...')`. */
  badRequest(message: string): Error;
}

/** The functions a transform module may export; each may be async. */
export type Load = (context: TransformContext) => unknown;
export type Preprocess = (request: TransformRequest, context: TransformContext) =>
  Omit<TransformRequest, 'headers' | 'contentType' | 'body'> | Promise<Omit<TransformRequest, 'headers' | 'contentType' | 'body'>>;
export type Postprocess = (response: TransformResponse, request: TransformRequest, context: TransformContext) => unknown;
/**
 * Combine merges the answers of an ensemble graph's members (`graph.combine: { module }`), in
 * member order (with allowPartial, those that failed are left out); it returns an answer as a
 * postprocess does.
 */
export type Combine = (answers: TransformResponse[], request: TransformRequest, context: TransformContext) => unknown;

export interface TransformModule {
  load?: Load;
  preprocess?: Preprocess;
  postprocess?: Postprocess;
  combine?: Combine;
}

/** BadRequestError is what badRequest() makes: the client's request is wrong (400), not the module. */
export class BadRequestError extends Error {
  readonly code = 'bad_request';
  constructor(message: string) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/**
 * badRequest makes the error a module throws to answer 400 with its message: `throw
 * badRequest('no "text" field')`. Any error whose `code` is "bad_request" is taken the same way.
 */
export function badRequest(message: string): BadRequestError {
  return new BadRequestError(message);
}
