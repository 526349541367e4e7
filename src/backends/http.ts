// http.ts — any HTTP model server that takes {"instances": [...], "parameters": {...}} and
// answers {"predictions": [...]} (the Flask / gunicorn / FastAPI pattern). Rows go as they came;
// tensors are turned into rows only when a client sent tensors (codecs/instances.ts).

import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { duration, size } from '../config/units.ts';
import { parseJson, stringifyJson } from '../codecs/json.ts';
import { rowsToTensors, tensorsToInstances } from '../codecs/instances.ts';
import { GatewayError, toGatewayError, type ErrorCode } from '../errors.ts';
import { outlierDetectionSchema } from '../guard/outlier.ts';
import { backendDuration } from '../observe/metrics.ts';
import type { InferRequest, InferResponse, ModelMetadata, Tensor, TensorSpec } from '../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health } from '../types.ts';
import { poolFor } from './client.ts';
import { pickerFor, type EndpointPicker } from './endpoints.ts';
import { createRawProxy, type RawProxy } from './passthrough.ts';
import { ProcessSupervisor, spawnSchema } from './spawn.ts';

const httpUrl = z.url({ protocol: /^https?$/ });
const specSchema = z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) });

const httpSchema = z.strictObject({
  type: z.literal('http'),
  url: httpUrl.optional().describe('Server URL, e.g. http://127.0.0.1:5000 (a base path is kept).'),
  urls: z.array(httpUrl).min(1).optional().describe('Several replicas of the server; each call goes to the one with the fewest calls in flight.'),
  predictPath: z.string().regex(/^\//).default('/predict').describe('POST path for predictions; {model} and {version} are replaced.'),
  healthPath: z.string().regex(/^\//).default('/health').describe('GET path for health; 2xx = ready.'),
  connectTimeoutMs: duration.prefault('5s').describe('Longest wait to open a connection.'),
  maxResponseBytes: size.prefault('64mb').describe('Largest answer read from the server; larger → 502.'),
  rawTimeoutMs: duration.prefault('60s').describe('Raw (passthrough) routes to this server: longest wait for its next byte.'),
  metadata: z.strictObject({
    inputs: z.array(specSchema).optional(),
    outputs: z.array(specSchema).optional(),
    maxBatchSize: z.coerce.number().int().min(0).optional(),
  }).optional().describe('What the server would report as model metadata (such servers report none); needed to answer tensor requests.'),
  outlierDetection: outlierDetectionSchema.optional(),
  spawn: spawnSchema.optional(),
}).superRefine((c, ctx) => {
  if ((c.url === undefined) === (c.urls === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: 'set exactly one of url and urls' });
  }
}).describe('Any HTTP model server speaking {"instances"} → {"predictions"} (Flask, gunicorn, FastAPI).');

type HttpConfig = z.infer<typeof httpSchema>;

const errorBodyBytes = 64 * 1024;

/** http is the registry entry of the generic HTTP model-server backend. */
export const http: BackendFactory<HttpConfig> = {
  type: 'http',
  schema: httpSchema,
  create(name, config, deps): Backend {
    const urls = config.urls ?? [config.url!];
    const picker = pickerFor(name, urls, config.outlierDetection, deps.log);
    const pools = new Map(urls.map((u) => [u, poolFor(u, { connectTimeoutMs: config.connectTimeoutMs })]));
    // Parsed once: a `new URL` per call showed in the hot path's profile.
    const basePaths = new Map(urls.map((u) => [u, new URL(u).pathname.replace(/\/+$/, '')]));
    const basePath = (u: string): string => basePaths.get(u)!;
    const check = (signal?: AbortSignal): Promise<Health> => checkHealth(urls, picker, (u) => pools.get(u)!, basePath, config.healthPath, signal);
    const supervisor = config.spawn === undefined ? undefined : new ProcessSupervisor(name, config.spawn, check, deps.log);
    const health = (signal?: AbortSignal): Promise<Health> => supervisor?.health(signal) ?? check(signal);
    const raw = new Map<string, RawProxy>(urls.map((u) => [u, createRawProxy(u, deps.log, { timeoutMs: config.rawTimeoutMs, connectTimeoutMs: config.connectTimeoutMs })]));

    const call = async (body: string, path: string, rows: number, ctx: CallContext): Promise<unknown[]> => {
      const lease = picker.acquire();
      const started = performance.now();
      let outcome = 'ok';
      try {
        const pool = pools.get(lease.url)!;
        const res = await pool.request({
          path: basePath(lease.url) + path, method: 'POST', body, signal: ctx.signal,
          headers: { ...ctx.forward, 'content-type': 'application/json', accept: 'application/json' },
        });
        const predictions = await readPredictions(res, name, rows, config.maxResponseBytes);
        picker.record(lease.url);
        return predictions;
      } catch (err) {
        const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : undefined;
        const e = reason instanceof GatewayError ? reason : toGatewayError(err, `backend "${name}" (${lease.url})`);
        if (e.code === 'backend_unreachable') picker.markFailed(lease.url);
        picker.record(lease.url, e);
        outcome = e.code;
        throw e;
      } finally {
        lease.release();
        backendDuration.observe({ backend: name, target: ctx.target ?? '', outcome }, (performance.now() - started) / 1000);
      }
    };

    return {
      name, type: 'http',
      start: async () => { await supervisor?.start(); },
      model(model, version) {
        const path = config.predictPath.replaceAll('{model}', encodeURIComponent(model)).replaceAll('{version}', encodeURIComponent(version ?? ''));
        const metadata = (): ModelMetadata => ({
          name: model, platform: 'http', ...(version === undefined ? {} : { versions: [version] }),
          inputs: (config.metadata?.inputs ?? []) as TensorSpec[],
          outputs: (config.metadata?.outputs ?? []) as TensorSpec[],
          ...(config.metadata?.maxBatchSize === undefined ? {} : { maxBatchSize: config.metadata.maxBatchSize }),
        });
        return {
          metadata: async () => metadata(),
          health,
          infer: async (req: InferRequest, ctx: CallContext): Promise<InferResponse> => {
            const instances = req.instances ?? (req.inputs === undefined ? undefined : tensorsToInstances(req.inputs));
            if (instances === undefined) throw new GatewayError('bad_request', 'the request carries neither instances nor inputs');
            const body = stringifyJson(req.parameters === undefined ? { instances } : { instances, parameters: req.parameters });
            const predictions = await call(body, path, instances.length, ctx);
            const out: InferResponse = { modelName: model, ...(version === undefined ? {} : { modelVersion: version }) };
            if (req.inputs !== undefined && req.instances === undefined) out.outputs = predictionsToTensors(predictions, metadata().outputs, name);
            else out.predictions = predictions;
            return out;
          },
        };
      },
      health,
      endpoints: () => picker.status(),
      proxy(req, res, path) {
        const lease = picker.acquire();
        res.once('close', lease.release);
        raw.get(lease.url)!(req, res, path);
      },
      close: async () => {
        for (const r of raw.values()) r.close();
        await supervisor?.stop();
      },
    };
  },
};

/** readPredictions reads and checks a predict answer; the body is always consumed or destroyed. */
async function readPredictions(res: Dispatcher.ResponseData, name: string, rows: number, maxBytes: number): Promise<unknown[]> {
  const ok = res.statusCode >= 200 && res.statusCode < 300;
  const text = await readCapped(res, ok ? maxBytes : errorBodyBytes, name);
  let doc: unknown;
  try {
    doc = parseJson(text, { what: `backend "${name}" answer`, maxDepth: 256 });
  } catch (err) {
    if (ok) throw new GatewayError('backend_bad_reply', `backend "${name}" answered ${res.statusCode} with a body that is not JSON: ${(err as Error).message}`);
    doc = undefined;
  }
  if (!ok) throw statusError(res, name, doc, text);
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new GatewayError('backend_bad_reply', `backend "${name}" answered ${describe(doc)}, not an object with "predictions"`);
  }
  const predictions = (doc as { predictions?: unknown }).predictions;
  if (!Array.isArray(predictions)) {
    const error = (doc as { error?: unknown }).error;
    throw new GatewayError('backend_bad_reply', typeof error === 'string'
      ? `backend "${name}" answered ${res.statusCode} with an error: ${truncate(error)}`
      : `backend "${name}" answered without a "predictions" array (got ${describe(predictions)})`);
  }
  if (predictions.length !== rows) {
    throw new GatewayError('backend_bad_reply', `backend "${name}" answered ${predictions.length} predictions for ${rows} instances`);
  }
  return predictions;
}

async function readCapped(res: Dispatcher.ResponseData, maxBytes: number, name: string): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (declared > maxBytes) {
    res.body.destroy();
    throw new GatewayError('backend_bad_reply', `backend "${name}" answer of ${declared} bytes exceeds maxResponseBytes (${maxBytes})`);
  }
  if (declared <= maxBytes) {
    // A declared length is enforced by undici (a longer body is an error), so the whole body
    // can be taken at once, without an async iterator per answer.
    const bytes = await res.body.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      res.body.destroy();
      throw new GatewayError('backend_bad_reply', `backend "${name}" answer exceeds maxResponseBytes (${maxBytes})`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

// What the client learns from a failed backend call: its own mistakes (4xx) are passed on
// with the server's message; the server's failures (5xx) become 502/503.
function statusError(res: Dispatcher.ResponseData, name: string, doc: unknown, text: Buffer): GatewayError {
  const status = res.statusCode;
  const error = typeof doc === 'object' && doc !== null ? (doc as { error?: unknown }).error : undefined;
  const message = typeof error === 'string' ? truncate(error) : undefined;
  const retryAfter = Number(res.headers['retry-after']);
  const retry = Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {};
  if (status === 429) return new GatewayError('overloaded', message ?? `backend "${name}" is overloaded`, retry);
  if (status === 503) return new GatewayError('backend_unavailable', `backend "${name}" is unavailable (503)${message === undefined ? '' : `: ${message}`}`, retry);
  if (status >= 400 && status < 500 && message !== undefined) {
    const code: ErrorCode = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : 'bad_request';
    return new GatewayError(code, message, { status });
  }
  if (status >= 400 && status < 500) {
    return new GatewayError('backend_bad_reply', `backend "${name}" answered ${status} without a JSON {"error"} (check predictPath): ${truncate(text.toString('utf8'))}`);
  }
  return new GatewayError('backend_error', `backend "${name}" failed with ${status}${message === undefined ? '' : `: ${message}`}`);
}

// Every URL is asked; each answer ejects or restores its URL for outlier detection.
async function checkHealth(urls: string[], picker: EndpointPicker, pool: (u: string) => Dispatcher, basePath: (u: string) => string,
  healthPath: string, signal?: AbortSignal): Promise<Health> {
  const results = await Promise.all(urls.map(async (u): Promise<string | undefined> => {
    let reason: string | undefined;
    try {
      const res = await pool(u).request({ path: basePath(u) + healthPath, method: 'GET', signal: signal ?? AbortSignal.timeout(5000) });
      await res.body.dump();
      reason = res.statusCode >= 200 && res.statusCode < 300 ? undefined : `${u}${healthPath} answered ${res.statusCode}`;
    } catch (err) {
      reason = `${u}${healthPath}: ${toGatewayError(err, 'health check').message}`;
    }
    picker.probed(u, reason === undefined, reason);
    return reason;
  }));
  const failed = results.filter((r) => r !== undefined);
  return failed.length < urls.length ? { ready: true } : { ready: false, reason: failed.join('; ') };
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

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
