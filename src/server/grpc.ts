// grpc.ts — the gRPC listener (@grpc/grpc-js, HTTP/2): the Open Inference Protocol service and
// grpc.health.v1.Health on `frontends.grpc.port`. It does for a gRPC call what http.ts does for an
// HTTP request: a request id (x-request-id metadata, or a new one), the traceparent passed on,
// the client's deadline as the request's (x-request-timeout-ms, read by the deadline stage), a
// client cancel aborting the model call, the frontend's auth and rate limit on inference, the
// gateway-wide concurrency bound, metrics and one log line; failures end with grpc-status.ts's
// status. What each RPC answers is frontends/grpc.ts's. It reads the current state on every call,
// so a reload swaps models and the grpc block's auth under open connections.

import { Metadata, Server, ServerCredentials, type sendUnaryData, type ServiceDefinition, type ServerDuplexStream, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { healthService, inferenceService } from '../codecs/grpc-proto.ts';
import type { GrpcInferRequest } from '../codecs/v2-grpc.ts';
import { clip, GatewayError } from '../errors.ts';
import {
  grpcLimit, healthOf, modelConfig, modelInfer, modelMetadata, repositoryChange, repositoryIndex, modelReady, serverLive, serverMetadataAnswer, serverReady,
  type GrpcAnswer, type GrpcConfig,
} from '../frontends/grpc.ts';
import { inFlight, requestDuration, requestsTotal } from '../observe/metrics.ts';
import { codeLabel } from '../observe/series.ts';
import type { CallContext, FrontendDeps } from '../types.ts';
import type { AccessConfig } from './access.ts';
import { adminGuard } from './admin.ts';
import { createAuthenticator, type Authenticator } from './auth.ts';
import { grpcStatusOf } from './grpc-status.ts';
import { streamInfer, type Admission, type CallRun } from './grpc-stream.ts';
import { forwardHeaders, requestIdOf } from './request-id.ts';
import type { Listener } from './lifecycle.ts';
import { RateLimiter } from './rate-limit.ts';
import { RequestLog, ServerCall } from './request-context.ts';

/** GrpcServerOptions are what the listener is made with; config() and deps() are the current state's. */
export interface GrpcServerOptions {
  /** The grpc block as the listener was opened with: port, host and the connection settings. */
  initial: GrpcConfig;
  host: string;
  /** Largest request message (server.maxBodyBytes). */
  maxBodyBytes: number;
  /** Calls served at once over the whole listener (server.maxConcurrentRequests). */
  maxConcurrentRequests: number;
  config(): (GrpcConfig & AccessConfig) | undefined;
  deps(): FrontendDeps;
  /** server.adminToken, which repository load and unload need (as REST's do). */
  adminToken(): string | undefined;
  log: Logger;
}

/** Access is a grpc block's auth and rate limit, made once per config. */
interface Access { authenticate?: Authenticator; limiter?: RateLimiter }

/** GrpcListener is the running gRPC listener; lifecycle.ts drains it beside the HTTP servers. */
export class GrpcListener implements Listener {
  #server: Server;
  #options: GrpcServerOptions;
  #active = { count: 0 };
  #access = new WeakMap<object, Access>();
  #watches = new Set<ServerWritableStream<unknown, unknown>>();

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    const c = options.initial;
    this.#server = new Server({
      'grpc.max_receive_message_length': options.maxBodyBytes,
      // Above the frontend's own check (frontends/grpc.ts), which answers first with the REST message.
      'grpc.max_send_message_length': c.maxResponseBytes + 64 * 1024,
      'grpc.max_concurrent_streams': c.maxConcurrentStreams,
      // 0 turns the pings off (grpc-js would otherwise ping without pause).
      ...(c.keepaliveTimeMs > 0 ? { 'grpc.keepalive_time_ms': c.keepaliveTimeMs, 'grpc.keepalive_timeout_ms': c.keepaliveTimeoutMs } : {}),
      ...(c.maxConnectionAgeMs > 0 ? { 'grpc.max_connection_age_ms': c.maxConnectionAgeMs, 'grpc.max_connection_age_grace_ms': c.maxConnectionAgeGraceMs } : {}),
    });
    const unary = <I, O>(name: string, guarded: boolean, handle: (msg: I, run: CallRun) => Promise<O | GrpcAnswer<O>>) =>
      (call: ServerUnaryCall<I, O>, callback: sendUnaryData<O>): void => { void this.#unary(name, guarded, call, callback, handle); };
    this.#server.addService(checkedMessages(inferenceService), {
      ServerLive: unary('ServerLive', false, async () => serverLive()),
      ServerReady: unary('ServerReady', false, async (_m, run) => serverReady(run.deps)),
      ModelReady: unary('ModelReady', false, async (m: { name?: string; version?: string }, run) => modelReady(run.deps, m)),
      ServerMetadata: unary('ServerMetadata', false, async () => serverMetadataAnswer()),
      ModelMetadata: unary('ModelMetadata', false, async (m: { name?: string; version?: string }, run) => modelMetadata(run.deps, m)),
      ModelInfer: unary('ModelInfer', true, async (m: GrpcInferRequest, run) => modelInfer(run.deps, m, run.ctx, grpcLimit(run.config))),
      ModelStreamInfer: (call: ServerDuplexStream<GrpcInferRequest, unknown>) => streamInfer(call, (requestId) => this.#begin(call, requestId), refuseUnreadable),
      ModelConfig: unary('ModelConfig', false, async (m: { name?: string; version?: string }, run) => modelConfig(run.deps, m)),
      RepositoryIndex: unary('RepositoryIndex', false, async (m: { ready?: boolean }, run) => repositoryIndex(run.deps, m)),
      RepositoryModelLoad: unary('RepositoryModelLoad', false, async (m: { model_name?: string }, run) => {
        adminGuard(this.#options.adminToken())(run.ctx);
        return repositoryChange(run.deps, run.config, m, 'load');
      }),
      RepositoryModelUnload: unary('RepositoryModelUnload', false, async (m: { model_name?: string }, run) => {
        adminGuard(this.#options.adminToken())(run.ctx);
        return repositoryChange(run.deps, run.config, m, 'unload');
      }),
    });
    // Probes carry no credentials: health is never guarded.
    this.#server.addService(checkedMessages(healthService), {
      Check: unary('Check', false, async (m: { service?: string }, run) => {
        const status = healthOf(run.deps, m.service);
        if (status === 'SERVICE_UNKNOWN') throw new GatewayError('not_found', `no service "${m.service}" here; ask about "" or "inference.GRPCInferenceService"`);
        return { status };
      }),
      Watch: (call: ServerWritableStream<{ service?: string }, { status: string }>) => this.#watch(call),
    });
  }

  /** listen binds the port (0 = a free one) and resolves with it. */
  listen(): Promise<number> {
    const where = `${this.#options.host.includes(':') ? `[${this.#options.host}]` : this.#options.host}:${this.#options.initial.port}`;
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(where, ServerCredentials.createInsecure(), (err, port) => (err === null ? resolve(port) : reject(err)));
    });
  }

  // implements Listener
  /** close stops taking calls (GOAWAY), ends health watches, and calls back when open calls finished. */
  close(callback?: () => void): void {
    for (const w of this.#watches) w.end();
    this.#watches.clear();
    this.#server.tryShutdown(() => callback?.());
  }

  closeIdleConnections(): void {}

  /** closeAllConnections cancels every open call and closes every connection. */
  closeAllConnections(): void {
    this.#server.forceShutdown();
  }

  // #begin admits one call (or one message of a stream): the concurrency bound, its context, its
  // metrics. end() records the outcome and frees the place; it is called exactly once.
  #begin(call: ServerUnaryCall<unknown, unknown> | ServerDuplexStream<unknown, unknown>, streamRequestId?: string): Admission {
    if (this.#active.count >= this.#options.maxConcurrentRequests) {
      throw new GatewayError('overloaded', `the gateway is serving ${this.#active.count} gRPC calls, its limit`);
    }
    const started = performance.now();
    const map = call.metadata.getMap();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(map)) if (typeof v === 'string') headers[k] = v;
    const requestId = streamRequestId ?? requestIdOf(headers);
    const deadline = call.getDeadline();
    const ms = deadline instanceof Date ? deadline.getTime() - Date.now() : deadline - Date.now();
    // The client's deadline becomes the request's: the deadline stage reads it as this header.
    if (Number.isFinite(ms)) headers['x-request-timeout-ms'] = String(Math.max(1, Math.floor(ms)));
    const controller = new AbortController();
    const log = new RequestLog(this.#options.log, { requestId });
    const ctx: CallContext = new ServerCall(requestId, controller.signal, forwardHeaders(headers, requestId), headers, log);
    const onCancel = (): void => controller.abort(new GatewayError('client_closed', 'the client cancelled the call'));
    call.once('cancelled', onCancel);
    const config = this.#options.config() ?? this.#options.initial;
    const deps = this.#options.deps();
    let counted = false;
    const peer = call.getPeer().replace(/^ipv[46]:/, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const run: CallRun = {
      ctx, deps, config,
      guard: async () => {
        const access = this.#accessOf(config);
        const identity = access.authenticate === undefined ? undefined : await access.authenticate(headers);
        access.limiter?.take(access.limiter.keyFor(identity, headers, peer));
      },
    };
    this.#active.count++;
    counted = true;
    inFlight.at('grpc').inc();
    return {
      run,
      end: (code) => {
        call.off('cancelled', onCancel);
        if (counted) {
          counted = false;
          this.#active.count--;
          inFlight.at('grpc').dec();
        }
        requestsTotal.at('grpc', ctx.model, ctx.target ?? '', codeLabel(code)).inc();
        requestDuration.at('grpc', ctx.model).observe((performance.now() - started) / 1000);
      },
      fail: (err) => {
        const out = grpcStatusOf(err);
        const e = out.error;
        if (ctx.target !== undefined) out.status.metadata!.set('x-infergate-target', ctx.target);
        if (e.status >= 500 && e.code !== 'not_ready' && e.code !== 'draining' && e.code !== 'client_closed') ctx.log.warn({ code: e.code, err: e.cause ?? e }, e.message);
        else if (log.enabled('debug')) ctx.log.debug({ code: e.code }, e.message);
        return out;
      },
    };
  }

  async #unary<I, O>(name: string, guarded: boolean, call: ServerUnaryCall<I, O>, callback: sendUnaryData<O>,
    handle: (msg: I, run: CallRun) => Promise<O | GrpcAnswer<O>>): Promise<void> {
    let begun: Admission | undefined;
    let code = 200;
    try {
      begun = this.#begin(call);
      refuseUnreadable(call.request);
      if (guarded) await begun.run.guard();
      const out = await handle(call.request, begun.run);
      const answer = isAnswer(out) ? out : { message: out, headers: {} };
      const md = new Metadata();
      md.set('x-request-id', begun.run.ctx.requestId);
      for (const [k, v] of Object.entries(answer.headers)) md.set(k, v);
      call.sendMetadata(md);
      callback(null, answer.message);
    } catch (err) {
      const { status, error } = begun?.fail(err) ?? grpcStatusOf(err);
      code = error.status;
      if (begun === undefined) this.#options.log.debug({ rpc: name, code: error.code }, error.message);
      callback(status);
    } finally {
      begun?.end(code);
      if (begun !== undefined && this.#options.log.isLevelEnabled('debug')) begun.run.ctx.log.debug({ rpc: name, status: code }, 'grpc call');
    }
  }

  // #watch streams the status now and each change of it (readiness polled each second), until
  // the client ends the call or the listener closes.
  #watch(call: ServerWritableStream<{ service?: string }, { status: string }>): void {
    let last: string | undefined;
    const tick = (): void => {
      const status = healthOf(this.#options.deps(), call.request.service);
      if (status !== last) {
        last = status;
        call.write({ status });
      }
    };
    tick();
    const timer = setInterval(tick, 1000);
    this.#watches.add(call as ServerWritableStream<unknown, unknown>);
    const stop = (): void => {
      clearInterval(timer);
      this.#watches.delete(call as ServerWritableStream<unknown, unknown>);
    };
    call.once('cancelled', stop);
    call.once('finish', stop);
  }

  #accessOf(config: GrpcConfig & AccessConfig): Access {
    let access = this.#access.get(config);
    if (access === undefined) {
      access = {
        ...(config.auth === undefined ? {} : { authenticate: createAuthenticator(config.auth) }),
        ...(config.rateLimit === undefined ? {} : { limiter: new RateLimiter(config.rateLimit) }),
      };
      this.#access.set(config, access);
    }
    return access;
  }
}

// A message that is not valid protobuf: grpc-js would answer INTERNAL itself, but it is the
// client's mistake, so the deserializer hands the handler a marker and the handler refuses it.
const unreadable = Symbol('unreadable message');

function checkedMessages(service: ServiceDefinition): ServiceDefinition {
  return Object.fromEntries(Object.entries(service).map(([name, method]) => [name, {
    ...method,
    requestDeserialize: (bytes: Buffer) => {
      try {
        return method.requestDeserialize(bytes);
      } catch (err) {
        return { [unreadable]: `the ${name} request is not a valid protobuf message: ${clip((err as Error).message, 120)}` };
      }
    },
  }])) as ServiceDefinition;
}

/** refuseUnreadable throws 400 bad_request for a message its deserializer could not read. */
export function refuseUnreadable(msg: unknown): void {
  const why = (msg as { [unreadable]?: string } | null)?.[unreadable];
  if (why !== undefined) throw new GatewayError('bad_request', why);
}

function isAnswer<O>(out: O | GrpcAnswer<O>): out is GrpcAnswer<O> {
  return typeof out === 'object' && out !== null && 'message' in out && 'headers' in out;
}
