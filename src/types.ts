// types.ts — the contracts every folder codes against. Implementations live elsewhere; this
// file imports only the canonical tensors and the logger type.

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { ZodType } from 'zod';
import type { InferRequest, InferResponse, ModelMetadata } from './tensors/tensor.ts';

/** CallContext travels with one client request through every stage. */
export interface CallContext {
  requestId: string;
  /** Aborted at the deadline or when the client goes away; reason is a GatewayError. */
  signal: AbortSignal;
  /** Absolute deadline, in performance.now() milliseconds. */
  deadline: number;
  /** Headers to pass on to backends (x-request-id, traceparent, tracestate). */
  forward: Record<string, string>;
  /** The client's request headers, read-only (sticky routing, target override). */
  headers: IncomingHttpHeaders;
  log: Logger;
  /** The model the frontend asked for (for logs and metrics). */
  model: string;
  /** Set by the split to the target that answered (x-infergate-target, metric label). */
  target?: string;
}

/** Infer is one step of the path: a request in, a response or a GatewayError out. */
export type Infer = (req: InferRequest, ctx: CallContext) => Promise<InferResponse>;

/** Stage wraps the next step, as undici interceptors and Envoy filters do. */
export type Stage = (next: Infer) => Infer;

/** Health is a backend's or target's readiness with the reason when it is not ready. */
export interface Health {
  ready: boolean;
  reason?: string;
}

/** ModelEndpoint is one model (and version) on one backend: the last step of the path. */
export interface ModelEndpoint {
  infer: Infer;
  /** Model metadata as the backend reports it (cached by the backend). */
  metadata(signal?: AbortSignal): Promise<ModelMetadata>;
  /** Model-level readiness (backend health + model ready + metadata known). */
  health(signal?: AbortSignal): Promise<Health>;
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
  /** A raw stream proxy for routes that must not be parsed, when the backend has one. */
  proxy?(req: IncomingMessage, res: ServerResponse, path: string): void;
  /** Fetches model metadata again (on reload, for a backend whose config did not change). */
  refresh?(): Promise<void>;
  /** Each server URL's calls in flight and outlier ejection, for backends that call URLs. */
  endpoints?(): Record<string, { inFlight: number; ejected: boolean }>;
  close(): Promise<void>;
}

/** ModelHandle is what a frontend gets for a model name: the whole path behind it. */
export interface ModelHandle {
  name: string;
  /** Version the client asked for, when it did. */
  version?: string;
  infer: Infer;
  metadata(): Promise<ModelMetadata>;
  ready(): boolean;
  /** Per-request timeout in ms from the model's config. */
  timeoutMs: number;
}

/** ModelLookup resolves a model name and optional version to its handle. */
export type ModelLookup = (name: string, version?: string) => ModelHandle | undefined;

/** HttpRequest is the parsed part of a client request a frontend handler sees. */
export interface HttpRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Reads the whole body, enforcing the frontend's byte limit (413 before reading past it). */
  body(): Promise<Buffer>;
  /** Builds the CallContext for a model call (deadline from config or x-request-timeout-ms). */
  context(model: string, timeoutMs: number): CallContext;
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

/** Route is one method + path of a frontend. Paths use {name} placeholders for strict names. */
export interface Route {
  method: 'GET' | 'POST' | 'HEAD';
  path: string;
  /** Frontend name, for metrics labels. */
  frontend: string;
  handle(req: HttpRequest): Promise<HttpReply>;
}

/** RawRoute hands the socket-level request to a handler that streams (passthrough). */
export interface RawRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | '*';
  /** Exact path, or a prefix ending in '/*'. */
  path: string;
  frontend: string;
  raw(req: IncomingMessage, res: ServerResponse, ctx: { requestId: string; log: Logger; path: string }): void;
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
  log: Logger;
}

/** BackendDeps is what gateway.ts hands every backend factory. */
export interface BackendDeps {
  log: Logger;
}

/** BackendFactory is a backend file's registry entry: its type, config schema and constructor. */
export interface BackendFactory<C extends { type: string } = { type: string }> {
  type: C['type'];
  schema: ZodType<C>;
  create(name: string, config: C, deps: BackendDeps): Backend;
}

/** FrontendFactory is a frontend file's registry entry: its config schema and routes. */
export interface FrontendFactory<C = unknown> {
  type: string;
  schema: ZodType<C>;
  routes(config: C, deps: FrontendDeps): Array<Route | RawRoute>;
}
