// grpc.ts — the Open Inference Protocol over gRPC (inference.GRPCInferenceService) for every
// configured model, and grpc.health.v1.Health for Kubernetes and GKE probes. This file holds the
// `frontends.grpc` block and what each RPC answers; server/grpc.ts owns the listener and the call
// (context, deadline, cancel, errors, metrics). A ModelInfer goes down the same model path as a
// REST infer (lookupModel, then the model's handle), so REST and gRPC calls share batches.
// https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md#grpc
// https://github.com/grpc/grpc/blob/master/doc/health-checking.md

import {
  decodeGrpcInferRequest, encodeGrpcInferResponse, encodeGrpcMetadata,
  type GrpcInferRequest, type GrpcInferResponse, type GrpcModelMetadata,
} from '../codecs/v2-grpc.ts';
import { size } from '../config/units.ts';
import { GatewayError } from '../errors.ts';
import { elementSize } from '../tensors/datatype.ts';
import type { Tensor } from '../tensors/tensor.ts';
import type { CallContext, FrontendDeps, FrontendFactory, ModelHandle } from '../types.ts';
import { grpcSchema, type GrpcConfig } from './grpc.schema.ts';
import { checkResponseSize, selectOutputs, type ReplyLimit } from './answer.ts';
import { serverMetadata } from './kserve-v2.ts';
import { lookupModel } from './model-call.ts';

export { grpcSchema, type GrpcConfig } from './grpc.schema.ts';

// The full name clients put in paths (/inference.GRPCInferenceService/ModelInfer); the .proto
// files load only when the gateway opens its gRPC port (codecs/grpc-proto.ts).
const inferenceServiceName = 'inference.GRPCInferenceService';

/** grpcFront is the registry entry of the gRPC frontend; it serves no HTTP routes (the gateway opens its port). */
export const grpcFront: FrontendFactory<GrpcConfig> = { type: 'grpc', schema: grpcSchema, routes: () => [] };

/** grpcLimit is the response limit of the gRPC frontend, for response_too_large. */
export function grpcLimit(config: GrpcConfig): ReplyLimit {
  return { frontend: 'grpc', maxResponseBytes: config.maxResponseBytes };
}

/** GrpcAnswer is an RPC's answer message, and the headers (initial metadata) to send with it. */
export interface GrpcAnswer<T> { message: T; headers: Record<string, string> }

/** serverLive answers ServerLive: answering at all is the proof. */
export function serverLive(): { live: boolean } {
  return { live: true };
}

/** serverReady answers ServerReady with the gateway's readiness (REST answers 503; gRPC says false). */
export function serverReady(deps: FrontendDeps): { ready: boolean } {
  return { ready: deps.ready() };
}

/** serverMetadataAnswer answers ServerMetadata. */
export function serverMetadataAnswer(): { name: string; version: string; extensions: string[] } {
  // Binary tensors are native to gRPC (raw contents): the REST extension is not one here, nor
  // statistics, which only REST serves.
  return { name: serverMetadata.name, version: serverMetadata.version, extensions: ['model_configuration'] };
}

/** modelReady answers ModelReady; a model not served is NOT_FOUND, as over REST. */
export function modelReady(deps: FrontendDeps, msg: { name?: string; version?: string }): { ready: boolean } {
  return { ready: modelOf(deps, msg.name, msg.version).ready() };
}

/** modelMetadata answers ModelMetadata. */
export async function modelMetadata(deps: FrontendDeps, msg: { name?: string; version?: string }): Promise<GrpcModelMetadata> {
  return encodeGrpcMetadata(await modelOf(deps, msg.name, msg.version).metadata());
}

/** repositoryIndex answers RepositoryIndex: every model, its state and reason (REST's POST /v2/repository/index). */
export async function repositoryIndex(deps: FrontendDeps, msg: { ready?: boolean }): Promise<{ models: Array<Record<string, string>> }> {
  const index = await deps.repository.index();
  return { models: (msg.ready === true ? index.filter((e) => e.state === 'READY') : index).map((e) => ({ name: e.name, version: e.version ?? '', state: e.state, reason: e.reason })) };
}

/** repositoryChange answers RepositoryModelLoad and RepositoryModelUnload, when the block allows them. */
export async function repositoryChange(deps: FrontendDeps, config: GrpcConfig, msg: { model_name?: string }, verb: 'load' | 'unload'): Promise<Record<string, never>> {
  if (!config.repository) throw new GatewayError('method_not_allowed', `RepositoryModel${verb === 'load' ? 'Load' : 'Unload'} is off: set frontends.grpc.repository: true`);
  const name = msg.model_name ?? '';
  if (name === '') throw new GatewayError('bad_request', 'model_name must name a model');
  await (verb === 'load' ? deps.repository.load(name) : deps.repository.unload(name));
  return {};
}

/**
 * modelConfig answers ModelConfig with the configuration REST's GET .../config gives (Triton's own,
 * the ONNX backend's, or written from the metadata), in the fields of ModelConfig this service
 * defines: what perf_analyzer and tritonclient read (inputs, outputs, batching, instances).
 */
export async function modelConfig(deps: FrontendDeps, msg: { name?: string; version?: string }): Promise<{ config: Record<string, unknown> }> {
  const handle = modelOf(deps, msg.name, msg.version);
  if (handle.config === undefined) throw new GatewayError('not_found', `model "${handle.name}" has no model configuration`);
  const c = await handle.config();
  return {
    config: {
      ...pick(c, ['name', 'platform', 'backend', 'max_batch_size']),
      input: listOf(c.input, ['name', 'data_type', 'format', 'dims', 'optional']),
      output: listOf(c.output, ['name', 'data_type', 'dims', 'label_filename']),
      instance_group: listOf(c.instance_group, ['name', 'count', 'gpus', 'kind']),
      ...(c.dynamic_batching === undefined ? {} : { dynamic_batching: pick(c.dynamic_batching, ['preferred_batch_size', 'max_queue_delay_microseconds']) }),
      ...(c.model_transaction_policy === undefined ? {} : { model_transaction_policy: pick(c.model_transaction_policy, ['decoupled']) }),
    },
  };
}

// pick keeps the keys of a JSON object that ModelConfig's messages define here.
function pick(o: unknown, keys: string[]): Record<string, unknown> {
  if (o === null || typeof o !== 'object') return {};
  return Object.fromEntries(keys.filter((k) => (o as Record<string, unknown>)[k] !== undefined).map((k) => [k, (o as Record<string, unknown>)[k]]));
}

function listOf(v: unknown, keys: string[]): Array<Record<string, unknown>> {
  return Array.isArray(v) ? v.map((x) => pick(x, keys)) : [];
}

/**
 * modelInfer answers one ModelInferRequest through the model's path: the outputs asked for, in
 * the form the client used (raw contents back for raw contents in; typed for typed), its id
 * echoed and the gateway's model name.
 */
export async function modelInfer(deps: FrontendDeps, msg: GrpcInferRequest, ctx: CallContext, limit: ReplyLimit): Promise<GrpcAnswer<GrpcInferResponse>> {
  const handle = modelOf(deps, msg.model_name, msg.model_version);
  const request = decodeGrpcInferRequest(msg);
  ctx.maxResponseBytes = limit.maxResponseBytes;
  const response = await handle.infer(request, ctx);
  if (response.answer !== undefined) {
    throw new GatewayError('not_acceptable', `model "${handle.name}" answers in its transform's own form, which ModelInfer cannot carry; call it over REST`);
  }
  const outputs = selectOutputs(request, response, handle);
  checkResponseSize(answerBytes(outputs), limit);
  const version = handle.version ?? response.modelVersion;
  const message = encodeGrpcInferResponse({
    modelName: handle.name, outputs,
    ...(version === undefined ? {} : { modelVersion: version }),
    ...(request.id === undefined ? {} : { id: request.id }),
    ...(response.parameters === undefined ? {} : { parameters: response.parameters }),
  }, (msg.raw_input_contents?.length ?? 0) > 0);
  const headers: Record<string, string> = {};
  if (ctx.target !== undefined) headers['x-infergate-target'] = ctx.target;
  return { message, headers };
}

/** HealthStatus is a grpc.health.v1 ServingStatus. */
export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/**
 * healthOf gives the health of a service: "" (the server as a whole) and the inference service
 * follow the gateway's readiness (draining included); the health service itself is always
 * serving; anything else is unknown (Check answers NOT_FOUND, Watch SERVICE_UNKNOWN).
 */
export function healthOf(deps: FrontendDeps, service: string | undefined): HealthStatus {
  const name = service ?? '';
  if (name === 'grpc.health.v1.Health') return 'SERVING';
  if (name !== '' && name !== inferenceServiceName) return 'SERVICE_UNKNOWN';
  return deps.ready() ? 'SERVING' : 'NOT_SERVING';
}

// modelOf resolves the model a message names, as REST does (404 naming what is served).
function modelOf(deps: FrontendDeps, name: string | undefined, version: string | undefined): ModelHandle {
  if (name === undefined || name === '') throw new GatewayError('bad_request', 'the request names no model: set model_name (name for ModelReady and ModelMetadata)');
  return lookupModel(deps, name, version === undefined || version === '' ? undefined : version);
}

// answerBytes is the size of the outputs' data, a lower bound of the message: checked before
// the message is made, so a too-large answer is refused with the REST message, not grpc-js's.
function answerBytes(outputs: Tensor[]): number {
  let total = 0;
  for (const t of outputs) {
    if (t.datatype === 'BYTES') for (const b of t.data as Uint8Array[]) total += 4 + b.byteLength;
    else total += t.data.length * elementSize(t.datatype);
  }
  return total;
}
