// triton.ts — NVIDIA Triton Inference Server over KServe v2 HTTP: JSON or the binary tensor
// extension, metadata from /v2/models/{m} and max_batch_size from /v2/models/{m}/config.
// A v2 request the client sent as is (req.raw) goes out without re-encoding its tensors. The
// generate extension (KServe generate, generate_stream) is passed through: Triton has it.
// https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_binary_data.md

import { rowsRequestToTensors } from '../codecs/instances.ts';
import { rowAnswer, rowCount } from '../codecs/row-answer.ts';
import { GatewayError } from '../errors.ts';
import { instanceCount } from '../tensors/row-block.ts';
import type { InferRequest, InferResponse, ModelMetadata, Tensor } from '../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health, ModelEndpoint } from '../types.ts';
import { tritonSchema, type TritonConfig } from './triton.schema.ts';
import type { TritonGrpc } from './triton-grpc.ts';
import { createRequire } from 'node:module';
import { binaryChoice, httpCall, loadMetadata, tritonError, type TensorCall } from './triton-http.ts';
import { ServerLink } from './shared/link.ts';
import { MetadataCache, ModelTable } from './shared/metadata.ts';
import { ProcessSupervisor } from './shared/spawn.ts';
import { generate } from './triton-generate.ts';
import { v2Repository } from './shared/v2-repository.ts';


/** triton is the registry entry of the Triton backend. */
export const triton: BackendFactory<TritonConfig> = {
  type: 'triton',
  schema: tritonSchema,
  create(name, config, deps): Backend {
    const link = new ServerLink(name, config, deps.log);
    const where = `backend "${name}"`;
    const grpc = config.protocol === 'grpc'
      // Loaded only for protocol: grpc (grpc-js and the .proto files), synchronously: create() is.
      ? new (createRequire(import.meta.url)('./triton-grpc.ts') as typeof import('./triton-grpc.ts')).TritonGrpc(name, { url: config.url!, maxResponseBytes: config.maxResponseBytes, connectTimeoutMs: config.connectTimeoutMs })
      : undefined;
    const serverHealth = (signal?: AbortSignal): Promise<Health> => grpc !== undefined
      ? grpc.serverReady(signal).then((ready) => (ready ? { ready } : { ready, reason: `${where}: ServerReady answered false` }),
        (err: unknown) => ({ ready: false, reason: (err as Error).message }))
      : link.probe('/v2/health/ready', (a) => a.status === 200 ? undefined : `/v2/health/ready answered ${a.status}`, signal);
    const supervisor = config.spawn === undefined ? undefined : new ProcessSupervisor(name, config.spawn, serverHealth, deps.log);
    const health = (signal?: AbortSignal): Promise<Health> => supervisor?.health(signal) ?? serverHealth(signal);
    const table = new ModelTable(name, deps.log);
    const lifecycle = config.modelControl ? v2Repository(link, where) : undefined;

    return {
      name, type: 'triton',
      async start() {
        await supervisor?.start();
        table.start();
        await lifecycle?.refresh();
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
      ...(lifecycle === undefined ? {} : { lifecycle }),
      changed: async () => (await supervisor?.changed()) === true,
      close: async () => {
        grpc?.close();
        await supervisor?.stop();
      },
    };
  },
};

function modelEndpoint(call: TensorCall, where: string, cache: MetadataCache, serverHealth: (signal?: AbortSignal) => Promise<Health>): ModelEndpoint {
  return {
    metadata: (signal) => cache.get(signal),
    ...(call.config === undefined ? {} : { config: call.config }),
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
      const rows = instanceCount(req);
      let tensorReq = req;
      let batching = true;
      if (rows !== undefined) {
        const meta = await cache.get(ctx.signal);
        batching = meta.maxBatchSize !== 0;
        // Row parameters are the platform's (Vertex "parameters"), not v2 parameters: not sent.
        tensorReq = { inputs: rowsToModelInputs(req, rows, meta, where), ...(req.id === undefined ? {} : { id: req.id }) };
      }
      if (tensorReq.inputs === undefined) throw new GatewayError('bad_request', 'the request carries neither instances nor inputs');
      const res = await call.infer(rows === undefined ? req : tensorReq, ctx);
      if (req.id !== undefined) res.id = req.id;
      if (rows === undefined) return res;
      // A model without a batch dimension answered for its one instance: give it dim 0 back.
      const outputs = batching ? res.outputs ?? [] : (res.outputs ?? []).map((t) => ({ ...t, shape: [1, ...t.shape] }));
      const out = rowAnswer(outputs);
      if (res.modelName !== undefined) out.modelName = res.modelName;
      if (res.modelVersion !== undefined) out.modelVersion = res.modelVersion;
      if (rowCount(out) !== rows) {
        throw new GatewayError('backend_bad_reply', `${where} answered ${rowCount(out)} rows for ${rows} instances`);
      }
      return out;
    },
  };
}

// rowsToModelInputs stacks rows into the model's inputs. Triton reports a batching model's
// shapes with the batch dimension (-1) first; a model with max_batch_size 0 has none, so its
// one instance is the whole tensor. Rows scanned into a block are typed from it, never built.
function rowsToModelInputs(req: InferRequest, count: number, meta: ModelMetadata, where: string): Tensor[] {
  if (meta.maxBatchSize !== 0) return rowsRequestToTensors(req, meta.inputs);
  if (count !== 1) {
    throw new GatewayError('bad_request', `model "${meta.name}" on ${where} does not batch (max_batch_size 0): send exactly one instance, got ${count}`);
  }
  const withBatch = meta.inputs.map((s) => ({ ...s, shape: [-1, ...s.shape] }));
  return rowsRequestToTensors(req, withBatch).map((t) => ({ ...t, shape: t.shape.slice(1) }));
}
