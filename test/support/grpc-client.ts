// grpc-client.ts (test support) — a @grpc/grpc-js client built from the project's .proto files
// (src/codecs/proto/), as a user's generated client would be, with promise-returning calls that
// also hand back the answer's metadata and the failure's status.

import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';

const protoDir = fileURLToPath(new URL('../../src/codecs/proto/', import.meta.url));
const loadOptions = { keepCase: true, longs: String, enums: String, defaults: true, arrays: true, oneofs: true };

type Ctor = new (target: string, creds: ReturnType<typeof credentials.createInsecure>, options?: Record<string, unknown>) => Client;
const inferencePkg = loadPackageDefinition(loadSync(`${protoDir}grpc_predict_v2.proto`, loadOptions)) as unknown as { inference: { GRPCInferenceService: Ctor & { service: unknown } } };
const healthPkg = loadPackageDefinition(loadSync(`${protoDir}health.proto`, loadOptions)) as unknown as { grpc: { health: { v1: { Health: Ctor & { service: unknown } } } } };

/** The service definitions, for fake servers. */
export const inferenceDefinition = inferencePkg.inference.GRPCInferenceService.service;
export const healthDefinition = healthPkg.grpc.health.v1.Health.service;

/** CallOptions are per-call metadata and deadline. */
export interface CallOptions {
  metadata?: Record<string, string>;
  /** Milliseconds from now. */
  deadlineMs?: number;
  signal?: AbortSignal;
}

/** Answer is a successful unary call: the response and the answer's initial metadata. */
export interface Answer<T> { response: T; headers: Record<string, string> }

/** GrpcTestClient calls one service by method name. */
export interface GrpcTestClient {
  call<T = Record<string, unknown>>(method: string, request: unknown, options?: CallOptions): Promise<Answer<T>>;
  /** failure runs a call that must fail and resolves with its status. */
  failure(method: string, request: unknown, options?: CallOptions): Promise<ServiceError>;
  stream(method: string, options?: CallOptions): ClientDuplexStream<unknown, Record<string, unknown>>;
  /** A server-streaming call. */
  serverStream(method: string, request: unknown, options?: CallOptions): NodeJS.ReadableStream & { cancel(): void };
  close(): void;
}

/** inferenceClient connects to inference.GRPCInferenceService at 127.0.0.1:port. */
export function inferenceClient(port: number, channelOptions: Record<string, unknown> = {}): GrpcTestClient {
  return wrap(new inferencePkg.inference.GRPCInferenceService(`127.0.0.1:${port}`, credentials.createInsecure(), channelOptions));
}

/** healthClient connects to grpc.health.v1.Health at 127.0.0.1:port. */
export function healthClient(port: number): GrpcTestClient {
  return wrap(new healthPkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure()));
}

function metadataOf(options: CallOptions): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
  return md;
}

function callOptions(options: CallOptions): { deadline?: Date } {
  return options.deadlineMs === undefined ? {} : { deadline: new Date(Date.now() + options.deadlineMs) };
}

type Method = (req: unknown, md: Metadata, opts: object, cb: (err: ServiceError | null, res?: unknown) => void) => { on(e: string, f: (m: Metadata) => void): void; cancel(): void };

function wrap(client: Client): GrpcTestClient {
  const method = (name: string): Method => {
    const fn = (client as unknown as Record<string, Method | undefined>)[name];
    if (fn === undefined) throw new Error(`no method ${name}`);
    return fn.bind(client);
  };
  const call = <T>(name: string, request: unknown, options: CallOptions = {}): Promise<Answer<T>> => new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    const c = method(name)(request, metadataOf(options), callOptions(options), (err, res) => {
      if (err !== null) reject(err);
      else resolve({ response: res as T, headers });
    });
    c.on('metadata', (md: Metadata) => {
      for (const [k, v] of Object.entries(md.getMap())) headers[k] = String(v);
    });
    options.signal?.addEventListener('abort', () => c.cancel(), { once: true });
  });
  return {
    call,
    failure: async (name, request, options) => {
      try {
        const answer = await call(name, request, options);
        throw new Error(`${name} succeeded where it should fail: ${JSON.stringify(answer.response)}`);
      } catch (err) {
        if ((err as ServiceError).code === undefined) throw err;
        return err as ServiceError;
      }
    },
    stream: (name, options = {}) => (client as unknown as Record<string, (md: Metadata, o: object) => ClientDuplexStream<unknown, Record<string, unknown>>>)[name]!
      .call(client, metadataOf(options), callOptions(options)),
    serverStream: (name, request, options = {}) => (client as unknown as Record<string, (r: unknown, md: Metadata, o: object) => NodeJS.ReadableStream & { cancel(): void }>)[name]!
      .call(client, request, metadataOf(options), callOptions(options)),
    close: () => client.close(),
  };
}

/** f32 gives a Float32Array's bytes as a Buffer (raw contents). */
export function f32(values: number[]): Buffer {
  return Buffer.from(new Float32Array(values).buffer);
}

/** fromF32 reads raw contents as numbers. */
export function fromF32(bytes: Uint8Array): number[] {
  const copy = Buffer.from(bytes);
  return Array.from(new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength / 4));
}
