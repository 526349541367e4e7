// fake-request.ts (test support) — drives a frontend's routes without a socket, fastify-inject
// style: builds the HttpRequest a handler sees, matches it with the real Router, and turns the
// reply or the GatewayError into what a client would receive. Also a fake model and FrontendDeps.

import { stringifyJson } from '../../src/codecs/json.ts';
import { GatewayError, toGatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { Router } from '../../src/server/router.ts';
import type { InferRequest, InferResponse, ModelMetadata } from '../../src/tensors/tensor.ts';
import type { CallContext, FrontendDeps, HttpReply, HttpRequest, ModelHandle, RawRoute, Route } from '../../src/types.ts';

export interface FakeRequestInit {
  method?: string;
  path?: string;
  params?: Record<string, string>;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as is; anything else as JSON. */
  body?: unknown;
  /** body() rejects with 413 payload_too_large above this many bytes, as the server does. */
  maxBodyBytes?: number;
}

/** FakeRequest is an HttpRequest that records what the handler did with it. */
export interface FakeRequest extends HttpRequest {
  /** How many times the handler read the body. */
  bodyReads: number;
}

/** fakeRequest builds an HttpRequest with no socket behind it. */
export function fakeRequest(init: FakeRequestInit = {}): FakeRequest {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
  const bytes = init.body === undefined ? Buffer.alloc(0)
    : Buffer.isBuffer(init.body) ? init.body
      : Buffer.from(typeof init.body === 'string' ? init.body : JSON.stringify(init.body));
  if (init.body !== undefined && typeof init.body !== 'string' && !Buffer.isBuffer(init.body)) headers['content-type'] ??= 'application/json';
  const limit = init.maxBodyBytes ?? 10 * 1024 * 1024;
  const req: FakeRequest = {
    method: init.method ?? 'GET',
    path: init.path ?? '/',
    params: init.params ?? {},
    headers,
    requestId: 'test-request',
    log: silentLogger,
    remoteAddress: '127.0.0.1',
    maxJsonDepth: 64,
    bodyReads: 0,
    body: async () => {
      req.bodyReads++;
      if (bytes.length > limit) throw new GatewayError('payload_too_large', `request body exceeds the limit of ${limit} bytes`);
      return bytes;
    },
    // As the server makes it: no deadline above the model's deadline stage, no model yet.
    call: {
      requestId: 'test-request', signal: new AbortController().signal, deadline: Infinity,
      forward: { 'x-request-id': 'test-request' }, headers, log: silentLogger, model: '',
    },
  };
  return req;
}

/** InjectedReply is what a client would get: status, headers, and the body as bytes and JSON. */
export interface InjectedReply {
  status: number;
  headers: Record<string, string>;
  raw: Buffer;
  /** The body parsed as JSON (throws if it is not JSON). */
  json(): any;
  text(): string;
  request: FakeRequest;
}

/**
 * inject sends a request through the routes as the server would: the real Router picks the
 * route (404 / 405 included), a thrown error becomes the `{"error", "code"}` answer.
 */
export async function inject(routes: Array<Route | RawRoute>, method: string, path: string, init: FakeRequestInit = {}): Promise<InjectedReply> {
  const match = new Router(routes).match(method, path);
  const req = fakeRequest({ ...init, method, path });
  let reply: HttpReply;
  try {
    if (match.kind === 'raw') throw new Error(`${path} is a raw route; test it with a socket`);
    if (match.kind === 'none') {
      throw match.status === 404
        ? new GatewayError('not_found', `no route for ${method} ${path}`)
        : new GatewayError('method_not_allowed', `${method} is not allowed`, { headers: { allow: match.allow.join(', ') } });
    }
    req.params = match.params;
    reply = await match.route.handle(req);
  } catch (err) {
    const e = toGatewayError(err);
    if (e.code === 'internal') throw err; // a bug in the handler: let the test see it
    const headers: Record<string, string> = { ...e.headers, 'content-type': 'application/json' };
    if (e.retryAfter !== undefined) headers['retry-after'] = String(e.retryAfter);
    reply = { status: e.status, headers, body: e.toJSON() };
  }
  const headers = { ...reply.headers };
  let raw: Buffer;
  if (reply.body === undefined || reply.body === null) raw = Buffer.alloc(0);
  else if (Buffer.isBuffer(reply.body)) raw = reply.body;
  else if (typeof reply.body === 'string') raw = Buffer.from(reply.body);
  else {
    raw = Buffer.from(stringifyJson(reply.body));
    headers['content-type'] ??= 'application/json';
  }
  return { status: reply.status, headers, raw, json: () => JSON.parse(raw.toString()), text: () => raw.toString(), request: req };
}

/** FakeModelInit sets what a fake model answers. */
export interface FakeModelInit {
  /** The model's answer; default: one prediction (the instance itself) per instance, or outputs = inputs. */
  infer?: (req: InferRequest, ctx: CallContext) => Promise<InferResponse> | InferResponse;
  metadata?: ModelMetadata;
  ready?: boolean;
  version?: string;
  /** Set on the context as the target that answered, as the model's split does. */
  target?: string;
}

/** FakeModel is a ModelHandle that records the requests it got. */
export interface FakeModel extends ModelHandle {
  calls: InferRequest[];
}

/** fakeModel makes a ModelHandle whose answer the test decides. */
export function fakeModel(name: string, init: FakeModelInit = {}): FakeModel {
  const calls: InferRequest[] = [];
  const model: FakeModel = {
    name,
    version: init.version,
    calls,
    infer: async (req, ctx) => {
      calls.push(req);
      // The handle names its model (and version) in the context, as the gateway's does.
      ctx.model = name;
      if (init.version !== undefined) ctx.version = init.version;
      if (init.target !== undefined) ctx.target = init.target;
      if (init.infer !== undefined) return init.infer(req, ctx);
      return req.instances !== undefined ? { predictions: req.instances } : { outputs: req.inputs };
    },
    metadata: async () => init.metadata ?? { name, platform: 'fake', inputs: [], outputs: [] },
    ready: () => init.ready ?? true,
  };
  return model;
}

/**
 * fakeDeps gives FrontendDeps over a set of models. Versions resolve through `versions`
 * ("name@version" keys); an unknown version is undefined, as in the gateway.
 */
export function fakeDeps(models: FakeModel[], opts: { ready?: boolean; versions?: Record<string, FakeModel> } = {}): FrontendDeps & { setReady(v: boolean): void } {
  let ready = opts.ready ?? true;
  return {
    models: (name, version) => (version === undefined ? models.find((m) => m.name === name) : opts.versions?.[`${name}@${version}`]),
    modelNames: () => models.map((m) => m.name),
    ready: () => ready,
    backend: () => undefined,
    // No run-time models: the repository lists the fakes as ready and loads nothing.
    repository: {
      dynamic: false,
      index: async () => models.map((m) => ({ name: m.name, state: 'READY' as const, reason: '' })),
      load: async (name) => { throw new GatewayError('model_not_found', `model "${name}" cannot be loaded here`); },
      unload: async (name) => { throw new GatewayError('model_not_found', `model "${name}" is not loaded`); },
      loaded: () => [],
    },
    log: silentLogger,
    setReady(v) { ready = v; },
  };
}
