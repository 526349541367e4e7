// tensor.ts — the canonical form every stage speaks: named tensors (KServe v2 names) or, when
// the client sent rows and no stage needs tensors, the rows as they came.

import type { Datatype, TensorData } from './datatype.ts';

/** Parameter values as KServe v2 allows them: `$string : $string | $number | $boolean`. */
export type Parameters = Record<string, unknown>;

/** Tensor is one named, typed, row-major tensor. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
  parameters?: Parameters;
}

/** RequestedOutput names an output the client wants, optionally as binary (Triton extension). */
export interface RequestedOutput {
  name: string;
  parameters?: Parameters;
}

/**
 * InferRequest is what flows down the path. Exactly one of `inputs` (tensors) and `instances`
 * (rows: Vertex / TF row format / KServe v1) is set; a backend converts rows to tensors only
 * when its server needs tensors (codecs/instances.ts).
 */
export interface InferRequest {
  id?: string;
  inputs?: Tensor[];
  instances?: unknown[];
  outputs?: RequestedOutput[];
  parameters?: Parameters;
  /**
   * The client's original v2 body, kept so a backend that speaks v2 can forward it without
   * re-encoding when nothing was changed (Triton target, no batching, no selection).
   */
  raw?: { contentType: string; body: Buffer; headerLength?: number };
  /**
   * The client's body as it came, for a model with a transform: its preprocess may read any
   * payload (an image, a JSON shape of its own). When neither `inputs` nor `instances` is set,
   * this is all the request is, and the transform makes the rest. `path` is the API route the
   * client called when the frontend speaks the backend's own API (OpenAI's /v1/chat/completions);
   * `document` the body as that frontend already parsed it, so it is not parsed twice.
   */
  payload?: { contentType: string; body: Buffer; path?: string; document?: Record<string, unknown> };
}

/**
 * InferResponse mirrors the request form: `outputs` when tensors went in, `predictions`
 * (one per instance, in order) when rows went in.
 */
export interface InferResponse {
  id?: string;
  modelName?: string;
  modelVersion?: string;
  outputs?: Tensor[];
  predictions?: unknown[];
  parameters?: Parameters;
  /**
   * An answer a transform's postprocess made that is neither predictions nor outputs: the
   * frontend writes it as it is (JSON, or bytes with their content type).
   */
  answer?: { kind: 'json'; value: unknown } | { kind: 'bytes'; body: Buffer; contentType: string } | StreamedAnswer;
  /** Answer headers a server sent for the client (SageMaker custom attributes); a frontend decides which it writes. */
  headers?: Record<string, string>;
}

/**
 * StreamedAnswer is a server's answer relayed as it comes (server-sent events, a chunked body):
 * the frontend writes its chunks as they arrive; an error on it after the first byte ends the
 * answer in a way the client can tell (an SSE error event, or a cut chunked body).
 */
export interface StreamedAnswer {
  kind: 'stream';
  body: import('node:stream').Readable;
  contentType: string;
}

/** TensorSpec describes one input or output of a model; -1 marks a variable dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

/** ModelMetadata is the KServe v2 model metadata object, plus what the gateway learned. */
export interface ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** Largest batch the backend accepts (Triton max_batch_size); 0 = the model does not batch. */
  maxBatchSize?: number;
  parameters?: Parameters;
}
