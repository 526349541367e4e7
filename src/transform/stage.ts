// stage.ts — the `transform` model stage: the model's transform steps around the rest of its
// path. The request goes down the list through each step's preprocess, then to the model; the
// answer goes down the list through each postprocess. It runs under the deadline stage, so a
// transform that hangs is cut off with the rest of the call. The model is not ready until
// every step has loaded (a module's load()); a step that failed to load keeps it not ready.

import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { tensorsToPredictions } from '../codecs/instances.ts';
import { clip, GatewayError } from '../errors.ts';
import { transformDuration } from '../observe/metrics.ts';
import type { TraceSpan } from '../observe/trace.ts';
import { isRemote } from '../storage/uri.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext, ModelStageDeps, StagePlugin } from '../types.ts';
import type { StepCall, StepRequest, StepResponse, TransformStep } from './step.ts';
import { transformSteps } from './steps.ts';

/** TransformStepConfig is one parsed `transform` list item. */
export interface TransformStepConfig { step: string; config: Record<string, unknown> }

const stepItem = z.record(z.string(), z.unknown()).transform((item, ctx): TransformStepConfig => {
  const keys = Object.keys(item);
  const key = Object.hasOwn(item, 'module') ? 'module' : keys.length === 1 ? keys[0]! : undefined;
  const plugin = key === undefined ? undefined : transformSteps[key];
  if (key === undefined || plugin === undefined) {
    ctx.addIssue({ code: 'custom', message: `a transform step is one object with one of the keys ${Object.keys(transformSteps).join(', ')}; got ${keys.length === 0 ? 'no key' : keys.map((k) => `"${clip(k, 40)}"`).join(', ')}` });
    return z.NEVER;
  }
  const parsed = plugin.schema.safeParse(key === 'module' ? item : item[key] ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: key === 'module' ? issue.path : [key, ...issue.path] });
    return z.NEVER;
  }
  return { step: key, config: parsed.data as Record<string, unknown> };
});

// One step may stand alone (`transform: { module: ./t.ts }`); it is read as a list of one.
const transformField = z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), z.array(stepItem).min(1).max(32).optional())
  .describe('Pre- and post-processing: one step or a list, each `{ module: ./file.ts }` or a built-in (`{ image: {...} }`, `{ scale: {...} }`, `{ labels: {...} }`, `{ softmax: {} }`, `{ topk: {...} }`). Preprocess steps run in list order before the model, postprocess steps in list order after it.');

/** TransformConfig is the model's `transform`, as parsed. */
export interface TransformConfig { transform?: TransformStepConfig[] | undefined }

/** transform is the stage that runs a model's transform steps around its path. */
export const transform = {
  name: 'transform',
  schema: { model: { transform: transformField } },
  create(config, deps) {
    if (config.transform === undefined) return undefined;
    const stepDeps = { model: deps.model, log: deps.log, metadata: deps.metadata };
    const steps = config.transform.map(({ step, config: c }) => {
      const plugin = transformSteps[step]!;
      for (const key of plugin.files ?? []) {
        const file = c[key];
        if (typeof file === 'string' && !isRemote(file) && !existsSync(file)) throw new Error(`models.${deps.model}.transform: ${step} ${key} "${file}" does not exist`);
      }
      return plugin.create(c, stepDeps);
    });
    const loading = new StepLoading(steps, deps);
    return {
      stage: (next) => (req, ctx) => {
        const why = loading.notReady();
        if (why !== undefined) return Promise.reject(new GatewayError('not_ready', `model "${deps.model}": ${why}`));
        return run(deps.model, steps, req, ctx, next);
      },
      available: () => loading.notReady() === undefined,
      status: () => ({ ready: loading.notReady() === undefined, ...(loading.error === undefined ? {} : { error: loading.error }), steps: steps.map((s) => ({ name: s.name, ...(s.status?.() as object ?? {}) })) }),
      close: async () => { loading.closed = true; await Promise.allSettled(steps.map((s) => s.close?.())); },
    };
  },
} satisfies StagePlugin<TransformConfig, ModelStageDeps>;

/** takesPayload says whether a model's transform reads bodies that are not rows or tensors. */
export function takesPayload(steps: TransformStepConfig[] | undefined): boolean {
  const first = steps?.[0];
  return first !== undefined && transformSteps[first.step]?.takesPayload === true;
}

/** rebuiltOnReload says whether a model's transform must be built anew on every reload (it runs user code). */
export function rebuiltOnReload(steps: TransformStepConfig[] | undefined): boolean {
  return steps?.some((s) => s.step === 'module') === true;
}

/**
 * resolveTransformFiles makes the paths in a model's transform steps absolute, against the
 * folder of the config file that named them (the keys each step plugin lists in `files`); gs://,
 * s3://, oci:// and https:// locations are left as they are.
 */
export function resolveTransformFiles(models: Record<string, TransformConfig>, configFile: string): void {
  const dir = dirname(resolve(configFile));
  for (const model of Object.values(models)) {
    for (const item of model.transform ?? []) {
      for (const key of transformSteps[item.step]?.files ?? []) {
        const file = item.config[key];
        if (typeof file === 'string' && !isAbsolute(file) && !isRemote(file)) item.config[key] = resolve(dir, file);
      }
    }
  }
}

// StepLoading starts every step's load() once the gateway is built (so `check`, which builds
// and closes at once, starts no worker), and says why the model is not ready while one has not.
class StepLoading {
  closed = false;
  error: string | undefined;
  #pending: number;

  constructor(steps: TransformStep[], deps: ModelStageDeps) {
    const loads = steps.filter((s) => s.load !== undefined);
    this.#pending = loads.length;
    if (loads.length === 0) return;
    setImmediate(() => {
      if (this.closed) return;
      for (const s of loads) {
        s.load!().then(() => { this.#pending--; }, (err: unknown) => {
          if (this.closed) return;
          this.error = `${s.name}: load failed: ${(err as Error).message}`;
          deps.log.error({ err }, `transform ${this.error}`);
        });
      }
    });
  }

  notReady(): string | undefined {
    if (this.error !== undefined) return `its transform is not ready (${this.error})`;
    if (this.#pending > 0) return 'its transform is still loading';
    return undefined;
  }
}

// run takes one call through the steps and the rest of the path.
async function run(model: string, steps: TransformStep[], req: InferRequest, ctx: CallContext, next: (r: InferRequest, c: CallContext) => Promise<InferResponse>): Promise<InferResponse> {
  const call: StepCall = { signal: ctx.signal, deadline: ctx.deadline, log: ctx.log };
  let r = stepRequestOf(req, ctx);
  const seen: StepRequest[] = [];
  for (const step of steps) {
    seen.push(r);
    if (step.preprocess !== undefined) r = await timed(model, step.name, 'preprocess', step.preprocess.bind(step, r, call), ctx.trace);
  }
  if (r.instances === undefined && r.inputs === undefined) {
    throw new GatewayError('unsupported_media_type', `model "${model}" takes rows or v2 tensors, and its transform made neither from a "${clip(r.contentType, 60)}" body`);
  }
  const response = await next(inferRequestOf(r, req), ctx);
  let out: StepResponse = stepResponseOf(response, r);
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.postprocess !== undefined) out = await timed(model, step.name, 'postprocess', step.postprocess.bind(step, out, seen[i]!, call), ctx.trace);
  }
  const answer: InferResponse = { ...response };
  delete answer.outputs;
  delete answer.predictions;
  if (out.answer !== undefined) answer.answer = out.answer;
  if (out.outputs !== undefined) answer.outputs = out.outputs;
  if (out.predictions !== undefined) answer.predictions = out.predictions;
  if (out.parameters !== undefined) answer.parameters = out.parameters;
  return answer;
}

// timed runs one step's phase and observes its time (infergate_transform_seconds), in a span of
// its own when the call is traced.
async function timed<T>(model: string, step: string, phase: string, work: () => T | Promise<T>, trace: TraceSpan | undefined): Promise<T> {
  const start = performance.now();
  const span = trace?.child(`transform ${phase}`, 'internal', { 'infergate.transform.step': step });
  let outcome = 'error';
  try {
    const value = await work();
    outcome = 'ok';
    return value;
  } catch (err) {
    span?.end(err);
    throw err;
  } finally {
    span?.end();
    transformDuration.observe({ model, step, phase, outcome }, (performance.now() - start) / 1000);
  }
}

/** stepRequestOf gives a request as user code sees it: what the frontend decoded, the headers, the body as it came. */
export function stepRequestOf(req: InferRequest, ctx: CallContext): StepRequest {
  const out: StepRequest = { headers: ctx.headers, contentType: req.payload?.contentType ?? '' };
  if (req.payload !== undefined) out.body = req.payload.body;
  if (req.instances !== undefined) out.instances = req.instances;
  if (req.inputs !== undefined) out.inputs = req.inputs;
  if (req.parameters !== undefined) out.parameters = req.parameters;
  if (req.outputs !== undefined) out.outputs = req.outputs;
  return out;
}

// inferRequestOf gives the model the transformed request: the client's raw bytes stay behind
// unless nothing was changed, so a v2 backend never forwards bytes that no longer say it.
function inferRequestOf(r: StepRequest, original: InferRequest): InferRequest {
  const out: InferRequest = {};
  if (original.id !== undefined) out.id = original.id;
  if (r.instances !== undefined) out.instances = r.instances;
  if (r.inputs !== undefined) out.inputs = r.inputs;
  if (r.parameters !== undefined) out.parameters = r.parameters;
  if (r.outputs !== undefined) out.outputs = r.outputs;
  if (original.raw !== undefined && r.inputs === original.inputs && r.parameters === original.parameters && r.outputs === original.outputs) out.raw = original.raw;
  return out;
}

// The model's answer as the first postprocess sees it: predictions when rows went in.
function stepResponseOf(res: InferResponse, r: StepRequest): StepResponse {
  const out: StepResponse = {};
  if (r.instances !== undefined) out.predictions = res.predictions ?? (res.outputs === undefined ? [] : tensorsToPredictions(res.outputs));
  else if (res.outputs !== undefined) out.outputs = res.outputs;
  else if (res.predictions !== undefined) out.predictions = res.predictions;
  if (res.parameters !== undefined) out.parameters = res.parameters;
  return out;
}
