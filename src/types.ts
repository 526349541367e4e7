// types.ts — the contracts every folder codes against. Implementations live elsewhere; this file
// imports only the canonical tensors, the model lifecycle contracts, the logger and span types.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ZodRawShape, ZodType } from 'zod';
import type { TraceSpan } from './observe/trace.ts';
import type { ModelLifecycle, ModelRepository } from './model-lifecycle.ts';
import type { InferRequest, InferResponse, ModelMetadata } from './tensors/tensor.ts';
export type { LoadedModel, ModelLifecycle, ModelRepository, ModelState, RepositoryEntry } from './model-lifecycle.ts';

/**
 * CallContext travels with one client request through every stage. The server makes it; each
 * field is then written in one place only, as the request goes down the path: `model` and
 * `version` by the model's handle, `deadline` and `signal` by the deadline stage (over the outer
 * deadline a frontend's callModel may set first: the platform's own timeout), `target` by the
 * split. Everything else reads it.
 */
export interface CallContext {
  requestId: string;
  /** Aborted (with a GatewayError) when the client goes away; from the deadline stage on, at the deadline too. */
  signal: AbortSignal;
  /** Absolute deadline, in performance.now() milliseconds; Infinity above the deadline stage. */
  deadline: number;
  /** Headers to pass on to backends (x-request-id, traceparent, tracestate). */
  forward: Record<string, string>;
  /** The client's request headers, read-only (deadline, sticky routing, target override). */
  headers: IncomingHttpHeaders;
  log: Logger;
  /** The model the frontend asked for (for logs and metrics); '' until a model is called. */
  model: string;
  /** The version the client named, when it did: the split sends the call to the target serving it. */
  version?: string;
  /** The target that serves the call (x-infergate-target, metric label). */
  target?: string;
  /** The frontend's maxResponseBytes, set by callModel: a backend reads no more of an answer (413 response_too_large). */
  maxResponseBytes?: number;
  /** The span the path's spans go under, when tracing is on: the request's, a batch's, an attempt's below retry. */
  trace?: TraceSpan;
  /** Which retry this call is, set by the retry stage when tracing is on (absent: the first attempt). */
  retry?: number;
}

/** Infer is one step of the path: a request in, a response or a GatewayError out. */
export type Infer = (req: InferRequest, ctx: CallContext) => Promise<InferResponse>;

/** Stage wraps the next step, as undici interceptors and Envoy filters do. */
export type Stage = (next: Infer) => Infer;

/** StageInstance is one built stage of a path: the wrapper, and what status, routing and shutdown need of it. */
export interface StageInstance {
  stage: Stage;
  /** Shown in /admin/status under the stage's name. */
  status?(): unknown;
  /** False while the stage would refuse every call (not ready, an open breaker): a split routes around it. */
  available?(): boolean;
  close?(): void | Promise<void>;
}

/**
 * StageFields are the config keys a stage reads: `model` ones go into each `models.NAME`
 * block, `target` ones into each `models.NAME.targets[]` block (where a key in both, such as
 * `batching`, lets a target override its model).
 */
export interface StageFields {
  model?: ZodRawShape;
  target?: ZodRawShape;
}

/**
 * StagePlugin is a stage file's registry entry, the shape backends and frontends have too:
 * its config fields and its constructor. create gets the parsed block (a target's stages: the
 * target's keys over the model's) and gives undefined when the config leaves the stage out.
 */
export interface StagePlugin<C = any, D = any> {
  name: string;
  schema: StageFields;
  create(config: C, deps: D): StageInstance | undefined;
}

/** TargetStageDeps is what each stage of one target's path is built with. */
export interface TargetStageDeps {
  /** The gateway model name. */
  model: string;
  /** The target's name (metrics, x-infergate-target). */
  target: string;
  /** The backend's name. */
  backend: string;
  log: Logger;
  /** The backend model this path ends in. */
  endpoint: ModelEndpoint;
  /** The target's readiness as the gateway last polled it. */
  health(): Health;
  /** The model's configured metadata.maxBatchSize, which wins over what the backend reports. */
  maxBatchSize?: number;
}

/** ModelStageDeps is what each stage of a model's path (above its targets) is built with. */
export interface ModelStageDeps {
  model: string;
  log: Logger;
  /** The model's targets, in config order. */
  targets: RoutedTarget[];
  /** The targets' live weights: the split reads them, a rollback or promotion changes them. */
  weights: TargetWeights;
  /** The model's timeoutMs (a shadow call's own deadline). */
  timeoutMs: number;
  /** The backends by name (a shadow calls its own). */
  backends: ReadonlyMap<string, Backend>;
  /** The model's metadata (its first target's, with the config's overrides): a transform reads input names. */
  metadata(): Promise<ModelMetadata>;
}

/** TargetWeights are one model's live target weights, the config's until a stage changes one. */
export interface TargetWeights {
  get(name: string): number;
  /** Why the weight differs from the config's, when it does. */
  reason(name: string): string | undefined;
  set(name: string, weight: number, reason?: string): void;
  /** Counts changes, so a picker knows to start its rotation afresh. */
  readonly epoch: number;
}

/** RoutedTarget is one target as the stages above the targets see it. */
export interface RoutedTarget {
  name: string;
  /** The configured weight. */
  weight: number;
  /** The backend model version this target pins, when it pins one. */
  version?: string;
  /**
   * Present when the target takes versions no target pins (`versions: any`): the name a call for such a
   * version carries (x-infergate-target, metric label), "<target>@any" whatever the version, so labels come from the config alone.
   */
  versionLabel?(version: string): string;
  /** Ready and not cut off (breaker open): a split may send traffic here. */
  available(): boolean;
}

/** Health is a backend's or target's readiness with the reason when it is not ready. */
export interface Health { ready: boolean; reason?: string }

/** ModelEndpoint is one model (and version) on one backend: the last step of the path. */
export interface ModelEndpoint {
  infer: Infer;
  /** Model metadata as the backend reports it (cached by the backend). */
  metadata(signal?: AbortSignal): Promise<ModelMetadata>;
  /** Model-level readiness (backend health + model ready + metadata known). */
  health(signal?: AbortSignal): Promise<Health>;
  /** Triton's JSON model config, from backends that know more than the metadata (Triton's own, ONNX instances). */
  config?(signal?: AbortSignal): Promise<Record<string, unknown>>;
}

/** Backend is one configured server kind instance (a Triton, a Flask app, the ONNX runtime). */
export interface Backend {
  readonly name: string;
  readonly type: string;
  /** Starts what the backend owns (a supervised process, ONNX workers, warm-up). */
  start(): Promise<void>;
  model(name: string, version?: string): ModelEndpoint;
  /** Server-level health, polled by the gateway. */
  health(signal?: AbortSignal): Promise<Health>;
  /** A raw stream proxy for unparsed routes; `fail` answers a failure before the upstream's headers went out. */
  proxy?(req: IncomingMessage, res: ServerResponse, path: string, fail: (err: unknown) => void): void;
  /** Drops what model(name, version) made, when the gateway no longer needs it (a version path evicted). */
  forget?(name: string, version?: string): void;
  /** Fetches model metadata again (on reload, for a backend whose config did not change). */
  refresh?(): Promise<void>;
  /** True when what the backend loaded changed at its source (a new remote generation): a reload then rebuilds it. */
  changed?(): Promise<boolean>;
  /** Each server URL's calls in flight and outlier ejection, for backends that call URLs. */
  endpoints?(): Record<string, { inFlight: number; ejected: boolean }>;
  /** Their models' lifecycle, on backends that load models themselves (onnx; triton with modelControl). */
  lifecycle?: ModelLifecycle;
  close(): Promise<void>;
}

/** ModelHandle is what a frontend gets for a model name: the whole path behind it. */
export interface ModelHandle {
  name: string;
  /** Version the client asked for, when it did. */
  version?: string;
  /** Runs the model's whole path; it names the model (and version) in the context. */
  infer: Infer;
  metadata(): Promise<ModelMetadata>;
  ready(): boolean;
  /** Triton's JSON model config (GET v2/models/{m}/config) and `$model_stat` objects (GET .../stats). */
  config?(): Promise<Record<string, unknown>>;
  stats?(): Promise<Array<Record<string, unknown>>>;
  /** Present when the model has a transform: `takesPayload` when its preprocess reads any body. */
  transform?: { takesPayload: boolean };
  /** True when a body that is not rows or tensors goes on as bytes (`payload`): a transform or every target takes them. */
  takesPayload?: boolean;
  /** What every target's server speaks: KServe generate translates to OpenAI or passes through to Triton; rows of numbers go to Triton and ONNX as one typed block. */
  speaks?: 'openai' | 'triton' | 'onnx';
  /** Readiness now, for per-model ready routes (a version no target pins is asked of the backend). */
  health?(): Promise<Health>;
}

/** ModelLookup resolves a model name and optional version to its handle. */
export type ModelLookup = (name: string, version?: string) => ModelHandle | undefined;

/** HttpRequest is the parsed part of a client request a frontend handler sees. */
export interface HttpRequest {
  method: string;
  path: string;
  /** The query string's parameters (SageMaker's list models API pages with next_page_token). */ query?: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /**
   * The body, read on first call and kept, within the server's byte limit (413 before reading
   * past it): a route that refuses a request (404, 415) does so without reading it.
   */
  body(): Promise<Buffer>;
  /** The context a model call carries, made by the server for this request. */
  call: CallContext;
  requestId: string;
  log: Logger;
  /** The peer address of the connection (rate limiting by client). */
  remoteAddress: string;
  /** Deepest JSON nesting allowed in the body (server.maxJsonDepth). */
  maxJsonDepth: number;
}

/** HttpReply is what a frontend handler returns; server/reply.ts writes it. */
export interface HttpReply {
  status: number;
  headers?: Record<string, string>;
  /** A Buffer or string is sent as is; anything else is written as JSON. */
  body?: unknown;
}

/** ErrorStyle is how a route's errors are written: the gateway's {"error", "code"}, or OpenAI's error object. */
export type ErrorStyle = 'openai';

/** Route is one method + path of a frontend. Paths use {name} placeholders for strict names. */
export interface Route {
  method: 'GET' | 'POST' | 'HEAD' | 'DELETE';
  path: string;
  /** Frontend name, for metrics labels. */
  frontend: string;
  /** Errors written in another API's shape (OpenAI's), for that API's clients. */
  errorStyle?: ErrorStyle;
  /** Behind server.adminToken when one is set (model load and unload). */ admin?: boolean;
  handle(req: HttpRequest): Promise<HttpReply>;
}

/** RawRoute hands the socket-level request to a handler that streams (passthrough). */
export interface RawRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | '*';
  /** Exact path, or a prefix ending in '/*'. */
  path: string;
  frontend: string;
  raw(req: IncomingMessage, res: ServerResponse, ctx: RawContext): void;
}

/** RawContext is what a raw route gets besides the socket-level request. */
export interface RawContext {
  requestId: string;
  log: Logger;
  /** The raw path with its query string. */
  path: string;
  /** Answers a failure as JSON (server/reply.ts), or cuts the stream when the answer has started. */
  fail(err: unknown): void;
}

/** FrontendDeps is what gateway.ts hands every frontend. */
export interface FrontendDeps {
  models: ModelLookup;
  /** Names of every configured model, for listings. */
  modelNames(): string[];
  /** Gateway readiness as the health routes must report it. */
  ready(): boolean;
  /** The backend by name, for passthrough routes. */
  backend(name: string): Backend | undefined;
  /** Every model's lifecycle state, and models loaded and unloaded at run time (repository APIs). */ repository: ModelRepository;
  log: Logger;
}

/** BackendDeps is what gateway.ts hands every backend factory. */
export interface BackendDeps {
  log: Logger;
  /** server.modelLoadErrors: a model that fails to load stops the start (exit) or is unavailable (continue). */ modelLoadErrors?: 'exit' | 'continue';
}

/** BackendFactory is a backend file's registry entry: its type, config schema and constructor. */
export interface BackendFactory<C extends { type: string } = { type: string }> {
  type: C['type'];
  schema: ZodType<C>;
  /** True when a backend so configured takes raw bodies (requests with a `payload` and no rows or tensors). */ takesPayload?(config: C): boolean;
  /** prestart begins, before the build, what start would wait for (onnx: workers, sessions); `models`: those the config's targets name on it. */ prestart?(config: C, models: readonly string[]): void;
  create(name: string, config: C, deps: BackendDeps): Backend;
}

/** FrontendFactory is a frontend file's registry entry: its config schema and routes. */
export interface FrontendFactory<C = unknown> {
  type: string;
  schema: ZodType<C>;
  routes(config: C, deps: FrontendDeps): Array<Route | RawRoute>;
}
