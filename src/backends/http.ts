// http.ts — any HTTP model server that takes {"instances": [...], "parameters": {...}} and
// answers {"predictions": [...]} (the Flask / gunicorn / FastAPI pattern). Rows go as they came;
// tensors are turned into rows only when a client sent tensors (codecs/instances.ts).

import { parseJson, stringifyJson } from '../codecs/json.ts';
import { rowsToTensors, tensorsToInstances } from '../codecs/instances.ts';
import { clip, describeValue, GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse, ModelMetadata, Tensor, TensorSpec } from '../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health } from '../types.ts';
import { httpSchema, type HttpConfig } from './http.schema.ts';
import { headerOf, ServerLink, statusError, type ServerAnswer } from './shared/link.ts';
import { createRawProxy, type RawProxy } from './passthrough.ts';
import { ProcessSupervisor } from './shared/spawn.ts';
import { watchStream, type StreamLabels } from './shared/stream-watch.ts';

// SageMaker's opaque per-request attributes, both ways (the sagemaker frontend forwards the client's).
const customAttributesHeader = 'x-amzn-sagemaker-custom-attributes';


/** http is the registry entry of the generic HTTP model-server backend. */
export const http: BackendFactory<HttpConfig> = {
  type: 'http',
  schema: httpSchema,
  takesPayload: (config) => config.raw,
  create(name, config, deps): Backend {
    const link = new ServerLink(name, config, deps.log);
    const where = `backend "${name}"`;
    const healthPath = config.healthPath;
    const check = (signal?: AbortSignal): Promise<Health> =>
      link.probe(healthPath, (a) => a.status >= 200 && a.status < 300 ? undefined : `${healthPath} answered ${a.status}`, signal);
    const supervisor = config.spawn === undefined ? undefined : new ProcessSupervisor(name, config.spawn, check, deps.log);
    const health = (signal?: AbortSignal): Promise<Health> => supervisor?.health(signal) ?? check(signal);
    const raw = new Map<string, RawProxy>(link.urls.map((u) => [u, createRawProxy(u, deps.log, { timeoutMs: config.rawTimeoutMs, connectTimeoutMs: config.connectTimeoutMs })]));
    const metadata = config.metadata;

    return {
      name, type: 'http',
      start: async () => { await supervisor?.start(); },
      model(model, version) {
        const path = config.predictPath.replaceAll('{model}', encodeURIComponent(model)).replaceAll('{version}', encodeURIComponent(version ?? ''));
        const meta: ModelMetadata = {
          name: model, platform: 'http', ...(version === undefined ? {} : { versions: [version] }),
          inputs: metadata?.inputs ?? [],
          outputs: metadata?.outputs ?? [],
          ...(metadata?.maxBatchSize === undefined ? {} : { maxBatchSize: metadata.maxBatchSize }),
        };
        return {
          metadata: async () => structuredClone(meta),
          health,
          infer: async (req: InferRequest, ctx: CallContext): Promise<InferResponse> => {
            if (req.instances === undefined && req.inputs === undefined && req.payload !== undefined && config.raw) {
              const labels = { backend: name, target: ctx.target ?? '' };
              return { modelName: model, answer: await link.exchange(rawRequest(path, req.payload, ctx), (a) => rawAnswer(a, where, config.rawTimeoutMs, labels)) };
            }
            const instances = req.instances ?? (req.inputs === undefined ? undefined : tensorsToInstances(req.inputs));
            if (instances === undefined) throw new GatewayError('bad_request', 'the request carries neither instances nor inputs');
            const body = stringifyJson(req.parameters === undefined ? { instances } : { instances, parameters: req.parameters });
            let attributes: string | undefined;
            const predictions = await link.exchange({
              method: 'POST', path, body, ctx, headers: { 'content-type': 'application/json', accept: 'application/json' },
            }, (answer) => { attributes = headerOf(answer, customAttributesHeader); return readPredictions(answer, where, instances.length); });
            const out: InferResponse = { modelName: model, ...(version === undefined ? {} : { modelVersion: version }) };
            // A model server's own SageMaker custom attributes go back to the client (the sagemaker frontend writes them).
            if (attributes !== undefined && attributes.length <= 1024 && /^[\x20-\x7e]*$/.test(attributes)) out.headers = { [customAttributesHeader]: attributes };
            if (req.inputs !== undefined && req.instances === undefined) out.outputs = predictionsToTensors(predictions, meta.outputs, name);
            else out.predictions = predictions;
            return out;
          },
        };
      },
      health,
      endpoints: () => link.endpoints(),
      proxy(req, res, path, fail) {
        const lease = link.lease();
        res.once('close', lease.release);
        raw.get(lease.url)!(req, res, path, fail);
      },
      changed: async () => (await supervisor?.changed()) === true,
      close: async () => { await supervisor?.stop(); },
    };
  },
};

// rawRequest sends the client's body on as it came: its content type (with parameters) and Accept.
function rawRequest(path: string, payload: NonNullable<InferRequest['payload']>, ctx: CallContext) {
  const single = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(', ') : v);
  const accept = single(ctx.headers.accept);
  const headers: Record<string, string> = { 'content-type': single(ctx.headers['content-type']) ?? (payload.contentType || 'application/octet-stream') };
  if (accept !== undefined) headers.accept = accept;
  return { method: 'POST' as const, path, body: payload.body, ctx, headers, streamWhen: isStreamed };
}

// isStreamed: server-sent events, or a body of no declared length (chunked), is relayed as it comes.
function isStreamed(headers: ServerAnswer['headers']): boolean {
  const type = String(headers['content-type'] ?? '').toLowerCase();
  return type.startsWith('text/event-stream') || headers['content-length'] === undefined;
}

// rawAnswer gives a 2xx answer back as it came, with the server's content type: streamed when
// the server streams it (the gap between chunks bounded by rawTimeoutMs), else buffered.
function rawAnswer(answer: ServerAnswer, where: string, idleMs: number, labels: StreamLabels): NonNullable<InferResponse['answer']> {
  if (answer.status < 200 || answer.status >= 300) throw predictError(answer, where);
  const contentType = headerOf(answer, 'content-type') ?? 'application/octet-stream';
  if (answer.stream !== undefined) return { kind: 'stream', body: watchStream(answer.stream, idleMs, labels, where), contentType };
  return { kind: 'bytes', body: answer.body, contentType };
}

/** readPredictions checks a predict answer: a 2xx JSON object with one prediction per instance. */
function readPredictions(answer: ServerAnswer, where: string, rows: number): unknown[] {
  const { status, body } = answer;
  if (status < 200 || status >= 300) throw predictError(answer, where);
  let doc: unknown;
  try {
    doc = parseJson(body, { what: `${where} answer`, maxDepth: 256 });
  } catch (err) {
    throw new GatewayError('backend_bad_reply', `${where} answered ${status} with a body that is not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new GatewayError('backend_bad_reply', `${where} answered ${describeValue(doc)}, not an object with "predictions"`);
  }
  const predictions = (doc as { predictions?: unknown }).predictions;
  if (!Array.isArray(predictions)) {
    const error = (doc as { error?: unknown }).error;
    throw new GatewayError('backend_bad_reply', typeof error === 'string'
      ? `${where} answered ${status} with an error: ${clip(error, 300)}`
      : `${where} answered without a "predictions" array ("predictions" is ${describeValue(predictions)})`);
  }
  if (predictions.length !== rows) {
    throw new GatewayError('backend_bad_reply', `${where} answered ${predictions.length} predictions for ${rows} instances`);
  }
  return predictions;
}

// predictError is the shared status mapping, but for one case: a 4xx (other than 429) without a
// JSON {"error"} did not come from the model's handler (a wrong predictPath, a proxy's HTML
// page), so it is the backend's fault, not the client's.
function predictError(answer: ServerAnswer, where: string): GatewayError {
  const { status } = answer;
  if (status >= 400 && status < 500 && status !== 429 && !hasErrorText(answer.body)) {
    return new GatewayError('backend_bad_reply', `${where} answered ${status} without a JSON {"error"} (check predictPath): ${clip(answer.body.toString('utf8'), 300)}`);
  }
  return statusError(answer, where);
}

function hasErrorText(body: Buffer): boolean {
  try {
    return typeof (JSON.parse(body.toString('utf8')) as { error?: unknown } | null)?.error === 'string';
  } catch {
    return false;
  }
}

// Tensors in → tensors out: the rows are stacked per the configured output specs or, when none
// are configured, into one output "predictions" whose datatype is read from the values.
function predictionsToTensors(predictions: unknown[], specs: TensorSpec[], name: string): Tensor[] {
  try {
    return rowsToTensors(predictions, specs.length > 0 ? specs : [inferSpec(predictions, name)], `backend "${name}" answer`);
  } catch (err) {
    if (!(err instanceof GatewayError) || err.code === 'backend_bad_reply') throw err;
    throw new GatewayError('backend_bad_reply', `${err.message} (set metadata.outputs of backend "${name}" to describe its answer)`, { cause: err });
  }
}

function inferSpec(predictions: unknown[], name: string): TensorSpec {
  let rank = 1;
  for (let v = predictions[0]; Array.isArray(v); v = v[0]) rank++;
  const leaves = predictions.flat(rank);
  let datatype: TensorSpec['datatype'];
  if (leaves.every((v) => typeof v === 'boolean')) datatype = 'BOOL';
  else if (leaves.every((v) => typeof v === 'string')) datatype = 'BYTES';
  else if (leaves.every((v) => typeof v === 'bigint' || Number.isSafeInteger(v))) datatype = 'INT64';
  else if (leaves.every((v) => typeof v === 'number')) datatype = 'FP64';
  else {
    throw new GatewayError('backend_bad_reply',
      `backend "${name}" answered predictions that are not arrays of numbers, strings or booleans; set its metadata.outputs to answer tensor requests`);
  }
  return { name: 'predictions', datatype, shape: Array.from({ length: rank }, () => -1) };
}
