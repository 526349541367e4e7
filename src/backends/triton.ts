// triton.ts — NVIDIA Triton Inference Server over KServe v2 HTTP: JSON or the binary tensor
// extension, metadata from /v2/models/{m} and max_batch_size from /v2/models/{m}/config.
// A v2 request the client sent as is (req.raw) goes out without re-encoding its tensors. The
// generate extension (KServe generate, generate_stream) is passed through: Triton has it.
// https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md

import { z } from 'zod';
import { rowsToTensors, tensorsToPredictions } from '../codecs/instances.ts';
import { parseJson, stringifyJson } from '../codecs/json.ts';
import { decodeBinaryResponse, encodeBinaryRequest } from '../codecs/v2-binary.ts';
import { decodeInferResponse, decodeMetadata, stringifyInferRequest } from '../codecs/v2-json.ts';
import { duration, size } from '../config/units.ts';
import { GatewayError } from '../errors.ts';
import { elementSize } from '../tensors/datatype.ts';
import type { InferRequest, InferResponse, ModelMetadata, Parameters, Tensor } from '../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health, ModelEndpoint } from '../types.ts';
import { TritonGrpc } from './triton-grpc.ts';
import { headerOf, oneOfUrl, retryAfterOf, serverFields, ServerLink, statusError, type ServerAnswer } from './shared/link.ts';
import { MetadataCache, metadataOverrideSchema, ModelTable } from './shared/metadata.ts';
import { ProcessSupervisor, spawnSchema } from './shared/spawn.ts';
import { generate } from './triton-generate.ts';

const tritonSchema = z.strictObject({
  type: z.literal('triton'),
  ...serverFields,
  protocol: z.enum(['http', 'grpc']).default('http').describe(
    'How to call Triton: "http" (KServe v2 REST, port 8000) or "grpc" (GRPCInferenceService, port 8001: url http://HOST:8001, https:// for TLS; ' +
    'tensors go as raw contents, binary and binaryOutputBytes do not apply; one url, not urls).'),
  binary: z.boolean().default(true).describe('Send tensors with the binary tensor extension and ask for binary outputs (true), or plain v2 JSON (false).'),
  binaryOutputBytes: size.prefault('1kb').describe('With binary on, outputs expected smaller than this (from the metadata shape and the batch) come back as JSON; 0 = every output binary.'),
  metadata: metadataOverrideSchema.optional(),
  streamIdleTimeoutMs: duration.prefault('60s').describe('generate_stream: longest gap between two events from Triton; past it the stream ends with an error event.'),
  spawn: spawnSchema.optional(),
}).superRefine(oneOfUrl).superRefine((c, ctx) => {
  if (c.protocol === 'grpc' && c.urls !== undefined) ctx.addIssue({ code: 'custom', path: ['urls'], message: 'protocol grpc takes one url (one HTTP/2 channel)' });
}).describe('NVIDIA Triton Inference Server (KServe v2 HTTP with the binary tensor extension, or gRPC).');

type TritonConfig = z.infer<typeof tritonSchema>;

/** triton is the registry entry of the Triton backend. */
export const triton: BackendFactory<TritonConfig> = {
  type: 'triton',
  schema: tritonSchema,
  create(name, config, deps): Backend {
    const link = new ServerLink(name, config, deps.log);
    const where = `backend "${name}"`;
    const grpc = config.protocol === 'grpc'
      ? new TritonGrpc(name, { url: config.url!, maxResponseBytes: config.maxResponseBytes, connectTimeoutMs: config.connectTimeoutMs })
      : undefined;
    const serverHealth = (signal?: AbortSignal): Promise<Health> => grpc !== undefined
      ? grpc.serverReady(signal).then((ready) => (ready ? { ready } : { ready, reason: `${where}: ServerReady answered false` }),
        (err: unknown) => ({ ready: false, reason: (err as Error).message }))
      : link.probe('/v2/health/ready', (a) => a.status === 200 ? undefined : `/v2/health/ready answered ${a.status}`, signal);
    const supervisor = config.spawn === undefined ? undefined : new ProcessSupervisor(name, config.spawn, serverHealth, deps.log);
    const health = (signal?: AbortSignal): Promise<Health> => supervisor?.health(signal) ?? serverHealth(signal);
    const table = new ModelTable(name, deps.log);

    return {
      name, type: 'triton',
      async start() {
        await supervisor?.start();
        table.start();
      },
      model: (model, version) => table.endpoint(model, version, () => {
        const base = `/v2/models/${encodeURIComponent(model)}${version === undefined ? '' : `/versions/${encodeURIComponent(version)}`}`;
        const load = grpc === undefined ? (signal: AbortSignal) => loadMetadata(link, base, where, signal) : (signal: AbortSignal) => grpc.metadata(model, version, signal);
        const cache = new MetadataCache(load, config.metadata?.[model]);
        const call: TensorCall = grpc === undefined
          ? httpCall(link, base, where, config.binary, binaryChoice(cache, config.binaryOutputBytes))
          : {
            infer: (req, ctx) => grpc.infer(model, version, req, ctx),
            unready: async (signal) => ((await grpc.modelReady(model, version, signal)) ? undefined : `ModelReady answered false for "${model}"`),
          };
        const endpoint = modelEndpoint(call, where, cache, health);
        const tensors = endpoint.infer;
        // The generate extension is HTTP only: a gRPC Triton backend refuses it by name.
        endpoint.infer = (req, ctx) => req.payload === undefined || req.inputs !== undefined || req.instances !== undefined ? tensors(req, ctx)
          : grpc === undefined ? generate(link, base, where, req.payload, ctx, { backend: name, target: ctx.target ?? '' }, config.streamIdleTimeoutMs, (a) => tritonError(a, where))
            : Promise.reject(new GatewayError('bad_request', `${where} speaks gRPC (protocol: grpc); Triton's generate extension is HTTP only`));
        return { cache, endpoint };
      }),
      forget: (model, version) => table.forget(model, version),
      health,
      refresh: () => table.refresh(),
      endpoints: () => link.endpoints(),
      changed: async () => (await supervisor?.changed()) === true,
      close: async () => {
        grpc?.close();
        await supervisor?.stop();
      },
    };
  },
};

// TensorCall is what differs between the protocols: a tensor request sent, a model's readiness asked.
interface TensorCall {
  infer(req: InferRequest, ctx: CallContext): Promise<InferResponse>;
  /** Resolves with why the model is not ready, or undefined when it is. */
  unready(signal?: AbortSignal): Promise<string | undefined>;
}

function modelEndpoint(call: TensorCall, where: string, cache: MetadataCache, serverHealth: (signal?: AbortSignal) => Promise<Health>): ModelEndpoint {
  return {
    metadata: (signal) => cache.get(signal),
    async health(signal) {
      const server = await serverHealth(signal);
      if (!server.ready) return server;
      try {
        const reason = await call.unready(signal);
        if (reason !== undefined) return { ready: false, reason: `${where}: ${reason}` };
        await cache.get(signal);
        return { ready: true };
      } catch (err) {
        return { ready: false, reason: cache.failure ?? `${where}: ${(err as Error).message}` };
      }
    },
    async infer(req: InferRequest, ctx: CallContext): Promise<InferResponse> {
      const rows = req.instances;
      let tensorReq = req;
      let batching = true;
      if (rows !== undefined) {
        const meta = await cache.get(ctx.signal);
        batching = meta.maxBatchSize !== 0;
        // Row parameters are the platform's (Vertex "parameters"), not v2 parameters: not sent.
        tensorReq = { inputs: rowsToModelInputs(rows, meta, where), ...(req.id === undefined ? {} : { id: req.id }) };
      }
      if (tensorReq.inputs === undefined) throw new GatewayError('bad_request', 'the request carries neither instances nor inputs');
      const res = await call.infer(rows === undefined ? req : tensorReq, ctx);
      if (req.id !== undefined) res.id = req.id;
      if (rows === undefined) return res;
      // A model without a batch dimension answered for its one instance: give it dim 0 back.
      const outputs = batching ? res.outputs ?? [] : (res.outputs ?? []).map((t) => ({ ...t, shape: [1, ...t.shape] }));
      const out: InferResponse = { predictions: tensorsToPredictions(outputs) };
      if (res.modelName !== undefined) out.modelName = res.modelName;
      if (res.modelVersion !== undefined) out.modelVersion = res.modelVersion;
      if (out.predictions!.length !== rows.length) {
        throw new GatewayError('backend_bad_reply', `${where} answered ${out.predictions!.length} rows for ${rows.length} instances`);
      }
      return out;
    },
  };
}

// rowsToModelInputs stacks rows into the model's inputs. Triton reports a batching model's
// shapes with the batch dimension (-1) first; a model with max_batch_size 0 has none, so its
// one instance is the whole tensor.
function rowsToModelInputs(rows: unknown[], meta: ModelMetadata, where: string): Tensor[] {
  if (meta.maxBatchSize !== 0) return rowsToTensors(rows, meta.inputs, 'instances');
  if (rows.length !== 1) {
    throw new GatewayError('bad_request', `model "${meta.name}" on ${where} does not batch (max_batch_size 0): send exactly one instance, got ${rows.length}`);
  }
  const withBatch = meta.inputs.map((s) => ({ ...s, shape: [-1, ...s.shape] }));
  return rowsToTensors(rows, withBatch, 'instances').map((t) => ({ ...t, shape: t.shape.slice(1) }));
}

// httpCall is the v2 REST form of a model's calls: the client's own v2 body forwarded when it
// can be (req.raw), else JSON or the binary extension.
function httpCall(link: ServerLink, base: string, where: string, binary: boolean, binaryOutputs: BinaryChoice): TensorCall {
  return {
    async infer(req, ctx) {
      const timeout = timeoutMicros(ctx);
      const { body, headers } = req.raw !== undefined ? forwardRaw(req, timeout) ?? encode(req, binary, timeout, binaryOutputs) : encode(req, binary, timeout, binaryOutputs);
      const answer = await link.send({ method: 'POST', path: `${base}/infer`, body, headers, ctx });
      if (answer.status !== 200) throw tritonError(answer, where);
      return decodeAnswer(answer, where);
    },
    async unready(signal) {
      const answer = await link.send({ method: 'GET', path: `${base}/ready`, ...(signal === undefined ? {} : { signal }) });
      return answer.status === 200 ? undefined : `${base}/ready answered ${answer.status}`;
    },
  };
}

async function loadMetadata(link: ServerLink, base: string, where: string, signal: AbortSignal): Promise<ModelMetadata> {
  const answer = await link.send({ method: 'GET', path: base, signal });
  if (answer.status !== 200) throw tritonStatusError(answer, `${where} metadata (GET ${base})`);
  const meta = decodeMetadata(parseJson(answer.body, { what: `${where} metadata` }), where);
  // max_batch_size lives in the model configuration extension; a server without it still works.
  const cfg = await link.send({ method: 'GET', path: `${base}/config`, signal });
  if (cfg.status === 200) {
    const doc = parseJson(cfg.body, { what: `${where} model config` }) as { max_batch_size?: unknown } | null;
    if (typeof doc?.max_batch_size === 'number') meta.maxBatchSize = doc.max_batch_size;
  }
  return meta;
}

// timeoutMicros gives the time left before the deadline, as Triton's `timeout` request parameter.
function timeoutMicros(ctx: CallContext): number | undefined {
  if (!Number.isFinite(ctx.deadline)) return undefined;
  return Math.max(1, Math.floor((ctx.deadline - performance.now()) * 1000));
}

function withTimeout(parameters: Parameters | undefined, timeout: number | undefined): Parameters | undefined {
  return timeout === undefined ? parameters : { ...parameters, timeout };
}

function encode(req: InferRequest, binary: boolean, timeout: number | undefined, outputs: BinaryChoice): { body: Buffer | string; headers: Record<string, string> } {
  const parameters = withTimeout(req.parameters, timeout);
  const r: InferRequest = { ...req, ...(parameters === undefined ? {} : { parameters }) };
  if (!binary) return { body: stringifyInferRequest(r), headers: { 'content-type': 'application/json' } };
  const { body, headerLength } = encodeBinaryRequest(r, { binaryOutputs: outputs(r) });
  return { body, headers: binaryHeaders(headerLength) };
}

type BinaryChoice = (req: InferRequest) => Map<string, boolean> | true;

// binaryChoice asks for binary only the outputs worth it: an output whose size, from its
// metadata shape with the request's batch for dim 0, is under the threshold comes back as JSON
// (readable, and no smaller in binary). Unknown dims and BYTES count as large.
function binaryChoice(cache: MetadataCache, threshold: number): BinaryChoice {
  return (req) => {
    const outputs = cache.known?.outputs;
    if (threshold <= 0 || outputs === undefined || outputs.length === 0) return true;
    const batch = req.inputs?.[0]?.shape[0] ?? 1;
    const batched = (cache.known?.maxBatchSize ?? 0) > 0;
    const choice = new Map<string, boolean>();
    for (const o of outputs) {
      const element = elementSize(o.datatype);
      let count = 1;
      o.shape.forEach((d, i) => { count *= d >= 0 ? d : i === 0 && batched ? batch : Infinity; });
      choice.set(o.name, element === 0 || !(count * element < threshold));
    }
    return choice;
  };
}

// forwardRaw sends the client's own v2 body: a binary body gets only its small JSON header
// rewritten (for the timeout); a JSON body is spliced when it has no "parameters" of its own.
// undefined means the body must be re-encoded.
function forwardRaw(req: InferRequest, timeout: number | undefined): { body: Buffer | string; headers: Record<string, string> } | undefined {
  const raw = req.raw!;
  if (raw.headerLength !== undefined) {
    if (timeout === undefined) return { body: raw.body, headers: binaryHeaders(raw.headerLength) };
    const header = parseJson(raw.body.subarray(0, raw.headerLength)) as Record<string, unknown>;
    header.parameters = withTimeout(header.parameters as Parameters | undefined, timeout);
    const json = Buffer.from(stringifyJson(header));
    return { body: Buffer.concat([json, raw.body.subarray(raw.headerLength)]), headers: binaryHeaders(json.length) };
  }
  const headers = { 'content-type': 'application/json' };
  if (timeout === undefined) return { body: raw.body, headers };
  if (req.parameters !== undefined) return undefined;
  const open = raw.body.indexOf(0x7b); // '{'
  if (open < 0) return undefined;
  const rest = raw.body.subarray(open + 1);
  const empty = /^\s*\}/.test(rest.subarray(0, 64).toString('latin1'));
  const prefix = Buffer.from(`{"parameters":{"timeout":${timeout}}${empty ? '' : ','}`);
  return { body: Buffer.concat([prefix, rest]), headers };
}

function binaryHeaders(headerLength: number): Record<string, string> {
  return { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(headerLength) };
}

function decodeAnswer(answer: ServerAnswer, where: string): InferResponse {
  const headerLength = headerOf(answer, 'inference-header-content-length');
  if (headerLength !== undefined) return decodeBinaryResponse(answer.body, Number(headerLength), where);
  let doc: unknown;
  try {
    doc = parseJson(answer.body, { what: `${where} answer`, maxDepth: 256 });
  } catch (err) {
    throw new GatewayError('backend_bad_reply', (err as Error).message, { cause: err });
  }
  return decodeInferResponse(doc, where);
}

// Triton answers a model or version it does not have with 400 (not 404): "Request for unknown
// model: 'm' version 7 is not found".
const unknownModel = /unknown model|is not found/i;

// tritonStatusError is the shared status mapping, but a model or version the server does not
// have is 404 model_not_found: the client named it, and asking again will not help.
function tritonStatusError(answer: ServerAnswer, where: string): GatewayError {
  const base = statusError(answer, where);
  if (answer.status === 404 || (answer.status === 400 && unknownModel.test(base.message))) {
    return new GatewayError('model_not_found', `${where}: ${base.message}`);
  }
  return base;
}

// tritonError passes Triton's own message on. Triton answers a full queue with 503, which
// clients should see as 429 + Retry-After; other 5xx are the backend's failure (502).
function tritonError(answer: ServerAnswer, where: string): GatewayError {
  const base = tritonStatusError(answer, where);
  if (answer.status === 503 && /queue/i.test(base.message)) {
    return new GatewayError('backend_queue_full', `${where}: ${base.message.replace(/^.*\(503\): /, '')}`, { retryAfter: retryAfterOf(answer).retryAfter ?? 1 });
  }
  return base;
}
