// triton-grpc.ts — Triton's gRPC endpoint (port 8001) as the triton backend speaks it with
// `protocol: grpc`: one HTTP/2 channel (@grpc/grpc-js) per backend, tensors sent as
// raw_input_contents (no per-element encoding either way), the call's deadline as the gRPC
// deadline, its abort as a cancel, and Triton's status codes mapped back to the gateway's codes.
// triton.ts keeps what both protocols share (rows → tensors, the metadata cache, health).
// https://github.com/triton-inference-server/server/blob/main/docs/customization_guide/inference_protocols.md

import { credentials, makeGenericClientConstructor, Metadata, status as Status, type Client, type ServiceError } from '@grpc/grpc-js';
import { inferenceService } from '../codecs/grpc-proto.ts';
import {
  decodeGrpcInferResponse, decodeGrpcMetadata, encodeGrpcInferRequest, type GrpcInferResponse, type GrpcModelMetadata,
} from '../codecs/v2-grpc.ts';
import { abortReason, GatewayError } from '../errors.ts';
import { backendDuration } from '../observe/metrics.ts';
import type { InferRequest, InferResponse, ModelMetadata } from '../tensors/tensor.ts';
import type { CallContext } from '../types.ts';

const InferenceClient = makeGenericClientConstructor(inferenceService, 'GRPCInferenceService');

type Unary = (request: unknown, metadata: Metadata, options: { deadline?: Date }, callback: (err: ServiceError | null, value?: unknown) => void) => { cancel(): void };

/** TritonGrpcOptions are the settings one channel is opened with. */
export interface TritonGrpcOptions {
  /** The server URL: http://host:port for plaintext, https:// for TLS (Triton's --grpc-use-ssl). */
  url: string;
  /** Largest answer message read (the backend's maxResponseBytes). */
  maxResponseBytes: number;
  connectTimeoutMs: number;
}

/** TritonGrpc is one backend's channel to Triton's GRPCInferenceService. */
export class TritonGrpc {
  readonly #client: Client;
  readonly #name: string;
  readonly #where: string;
  readonly #connectTimeoutMs: number;

  constructor(name: string, options: TritonGrpcOptions) {
    const u = new URL(options.url);
    const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : u.port;
    this.#name = name;
    this.#where = `backend "${name}"`;
    this.#connectTimeoutMs = options.connectTimeoutMs;
    this.#client = new InferenceClient(`${u.hostname}:${port}`, u.protocol === 'https:' ? credentials.createSsl() : credentials.createInsecure(), {
      'grpc.max_receive_message_length': options.maxResponseBytes,
      'grpc.max_send_message_length': -1,
      // Find a dead server connection between calls, not on the next call.
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
  }

  /** serverReady asks ServerReady. */
  async serverReady(signal?: AbortSignal): Promise<boolean> {
    const answer = await this.#call<{ ready?: boolean }>('ServerReady', {}, { signal, timeoutMs: this.#connectTimeoutMs }, 'ServerReady');
    return answer.ready === true;
  }

  /** modelReady asks ModelReady for one model (and version). */
  async modelReady(model: string, version: string | undefined, signal?: AbortSignal): Promise<boolean> {
    const answer = await this.#call<{ ready?: boolean }>('ModelReady', { name: model, version: version ?? '' }, { signal, timeoutMs: this.#connectTimeoutMs }, 'ModelReady');
    return answer.ready === true;
  }

  /** metadata reads ModelMetadata, and max_batch_size from ModelConfig when the server has it. */
  async metadata(model: string, version: string | undefined, signal: AbortSignal): Promise<ModelMetadata> {
    const req = { name: model, version: version ?? '' };
    const what = `${this.#where} metadata (ModelMetadata ${model})`;
    const meta = decodeGrpcMetadata(await this.#call<GrpcModelMetadata>('ModelMetadata', req, { signal }, what), this.#where);
    try {
      const cfg = await this.#call<{ config?: { max_batch_size?: number } }>('ModelConfig', req, { signal }, `${this.#where} model config`);
      if (typeof cfg.config?.max_batch_size === 'number') meta.maxBatchSize = cfg.config.max_batch_size;
    } catch (err) {
      // A server without the model configuration extension still serves the model.
      if (!(err instanceof GatewayError) || err.code !== 'backend_error') throw err;
    }
    return meta;
  }

  /** infer sends one ModelInfer with raw contents, under the call's deadline and signal. */
  async infer(model: string, version: string | undefined, req: InferRequest, ctx: CallContext): Promise<InferResponse> {
    const started = performance.now();
    let outcome = 'ok';
    try {
      const answer = await this.#call<GrpcInferResponse>('ModelInfer', encodeGrpcInferRequest(req, model, version), { signal: ctx.signal, ctx }, this.#where);
      return decodeGrpcInferResponse(answer, this.#where);
    } catch (err) {
      outcome = err instanceof GatewayError ? err.code : 'internal';
      throw err;
    } finally {
      backendDuration.at(this.#name, ctx.target ?? '', outcome).observe((performance.now() - started) / 1000);
    }
  }

  close(): void {
    this.#client.close();
  }

  #call<T>(method: string, request: unknown, opts: { signal?: AbortSignal | undefined; ctx?: CallContext; timeoutMs?: number }, where: string): Promise<T> {
    const signal = opts.signal;
    if (signal?.aborted === true) return Promise.reject(abortReason(signal, `the call to ${where}`));
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(opts.ctx?.forward ?? {})) metadata.set(k, v);
    const left = opts.ctx !== undefined && Number.isFinite(opts.ctx.deadline) ? opts.ctx.deadline - performance.now() : opts.timeoutMs;
    const options = left === undefined ? {} : { deadline: new Date(Date.now() + Math.max(1, left)) };
    const fn = (this.#client as unknown as Record<string, Unary>)[method]!.bind(this.#client);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => call.cancel();
      const call = fn(request, metadata, options, (err, value) => {
        signal?.removeEventListener('abort', onAbort);
        if (err === null) resolve(value as T);
        else if (signal?.aborted === true) reject(abortReason(signal, `the call to ${where}`));
        else reject(tritonGrpcError(err, where));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

// Triton answers a model or version it does not have with "Request for unknown model: ... is not found".
const unknownModel = /unknown model|is not found/i;

/**
 * tritonGrpcError maps a gRPC status from Triton to the gateway's codes, with Triton's message:
 * the same codes the HTTP protocol gives for the same failures (a full queue is 429 + Retry-After).
 */
export function tritonGrpcError(err: ServiceError, where: string): GatewayError {
  const details = err.details || err.message;
  const message = `${where}: ${details}`;
  switch (err.code) {
    case Status.INVALID_ARGUMENT:
      return unknownModel.test(details) ? new GatewayError('model_not_found', message) : new GatewayError('bad_request', message);
    case Status.NOT_FOUND:
      return new GatewayError('model_not_found', message);
    case Status.UNAVAILABLE:
      if (/queue/i.test(details)) return new GatewayError('backend_queue_full', message);
      // No connection: the errno in the details says whether the call can have left.
      return new GatewayError('backend_unreachable', `${where} is unreachable: ${details}`,
        { cause: Object.assign(new Error(details), { code: /ECONNREFUSED/.test(details) ? 'ECONNREFUSED' : 'UNAVAILABLE' }) });
    case Status.RESOURCE_EXHAUSTED:
      return new GatewayError('backend_overloaded', message);
    case Status.DEADLINE_EXCEEDED:
      return new GatewayError('deadline_exceeded', `${where} did not answer in time`);
    case Status.CANCELLED:
      return new GatewayError('backend_error', `${where} cancelled the call: ${details}`);
    default:
      return new GatewayError('backend_error', `${where} failed (${Status[err.code] ?? err.code}): ${details}`);
  }
}
