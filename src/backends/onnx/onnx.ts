// onnx.ts — the built-in ONNX Runtime backend: serves the models of a Triton-style repository
// (or one file) with no other server. Each model gets a pool of worker threads, one session
// each (session.run blocks its thread); start() loads and warms every model before ready.

import { z } from 'zod';
import { rowsToTensors, tensorsToPredictions } from '../../codecs/instances.ts';
import { GatewayError } from '../../errors.ts';
import { backendDuration } from '../../observe/metrics.ts';
import { allocate } from '../../tensors/datatype.ts';
import { checkAgainstSpec, elementCount } from '../../tensors/shape.ts';
import type { InferRequest, InferResponse, ModelMetadata, Tensor, TensorSpec } from '../../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health, ModelEndpoint } from '../../types.ts';
import { datatypeOf, specShape } from './ort-tensor.ts';
import { findModels, singleModelName, type ModelFile } from './repository.ts';
import { SessionPool, type SessionInfo } from './session-pool.ts';
import type { ValueInfo } from './worker.ts';

const onnxSchema = z.strictObject({
  type: z.literal('onnx'),
  modelRepository: z.string().min(1).optional().describe(
    'Folder laid out as DIR/<model>/<version>/model.onnx (Triton style), or a gs://bucket/path URI (e.g. ${AIP_STORAGE_URI}) copied to a temp folder at start.'),
  modelPath: z.string().min(1).optional().describe('A single model.onnx file (or gs:// object); it answers to any model name, as version "1".'),
  versions: z.record(z.string(), z.array(z.coerce.string().regex(/^[1-9]\d*$/)).min(1)).optional().describe(
    'Versions to load per model name, e.g. {iris: ["1", "2"]}; a model not listed serves its highest version.'),
  executionProviders: z.array(z.enum(['cuda', 'cpu'])).min(1).default(['cpu']).describe(
    'Execution providers tried in order, cpu always last; one that cannot load (no CUDA libraries) is skipped with one warning.'),
  workers: z.coerce.number().int().min(1).max(64).default(1).describe('Worker threads per model, each with its own session; calls beyond that wait in a queue.'),
  intraOpThreads: z.coerce.number().int().min(0).default(1).describe('Threads one operator may use inside a session (0 = one per core); 1 suits a shared machine.'),
  interOpThreads: z.coerce.number().int().min(0).default(1).describe('Threads running independent operators in parallel (0 = runtime default).'),
  spinning: z.boolean().default(false).describe('Let idle runtime threads spin for work: lower latency, but burns CPU while idle.'),
  graphOptimizationLevel: z.enum(['disabled', 'basic', 'extended', 'all']).default('all').describe('onnxruntime graph optimizations applied at load.'),
  warmup: z.boolean().default(true).describe('Run each model once on zero-filled inputs (dynamic dims = 1) before reporting ready.'),
}).superRefine((c, ctx) => {
  if ((c.modelRepository === undefined) === (c.modelPath === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['modelRepository'], message: 'set exactly one of modelRepository and modelPath' });
  }
}).describe('The built-in ONNX Runtime backend (onnxruntime-node in worker threads).');

/** OnnxConfig is the validated config of one onnx backend. */
export type OnnxConfig = z.infer<typeof onnxSchema>;

/** largeBatch is the maxBatchSize reported for models whose dim 0 is dynamic. */
export const largeBatch = 65536;

interface Loaded {
  file: ModelFile;
  pool: SessionPool;
  info: SessionInfo;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** onnx is the registry entry of the built-in ONNX Runtime backend. */
export const onnx: BackendFactory<OnnxConfig> = {
  type: 'onnx',
  schema: onnxSchema,
  create(name, config, deps): Backend {
    const models: Loaded[] = [];
    let started = false;
    let failure: string | undefined;

    const find = (model: string, version?: string): Loaded | undefined => {
      const named = models.filter((m) => m.file.name === model || m.file.name === singleModelName);
      if (version === undefined) return named.reduce<Loaded | undefined>((a, m) => (a === undefined || Number(m.file.version) > Number(a.file.version) ? m : a), undefined);
      return named.find((m) => m.file.version === version);
    };
    const lookup = (model: string, version?: string): Loaded => {
      if (!started) throw new GatewayError('not_ready', `backend "${name}" is still loading its models${failure === undefined ? '' : `: ${failure}`}`);
      const m = find(model, version);
      if (m !== undefined) return m;
      throw new GatewayError('model_not_found', `backend "${name}" has no model "${model}"${version === undefined ? '' : ` version ${version}`}; it serves ${models.map((x) => `${x.file.name}/${x.file.version}`).join(', ')}`);
    };

    const start = async (): Promise<void> => {
      const files = await findModels({ modelRepository: config.modelRepository, modelPath: config.modelPath, versions: config.versions });
      const warned = new Set<string>();
      const loadOne = async (file: (typeof files)[number]): Promise<Loaded> => {
        const pool = new SessionPool({
          path: file.path, executionProviders: config.executionProviders, intraOpThreads: config.intraOpThreads,
          interOpThreads: config.interOpThreads, spinning: config.spinning, graphOptimizationLevel: config.graphOptimizationLevel,
        });
        let info: SessionInfo;
        const loading = performance.now();
        try {
          info = await pool.start(config.workers);
        } catch (err) {
          await pool.close();
          throw new GatewayError('internal', `backend "${name}" cannot load ${file.path}: ${(err as Error).message.replace(`${file.path}: `, '')}`, { cause: err });
        }
        const loaded: Loaded = { file, pool, info, inputs: specsOf(info.inputs, file.path, 'input'), outputs: specsOf(info.outputs, file.path, 'output') };
        for (const skipped of info.skipped) {
          if (warned.has(skipped)) continue; // one warning per provider problem, not per model
          warned.add(skipped);
          deps.log.warn({ backend: name, skipped }, `execution provider unavailable, falling back to ${info.provider}: ${skipped}`);
        }
        const loadMs = Math.round(performance.now() - loading);
        const warming = performance.now();
        if (config.warmup) await warmUp(loaded, config.workers, name, deps.log);
        const warmupMs = Math.round(performance.now() - warming);
        deps.log.info({ backend: name, model: file.name, version: file.version, path: file.path, executionProvider: info.provider, workers: config.workers, loadMs, warmupMs },
          `onnx model ${file.name}/${file.version} loaded on ${info.provider}`);
        return loaded;
      };
      // Models load and warm up side by side (each session loads and runs on its own worker
      // threads), a few at a time so a large repository does not hold every file in memory at
      // once: a repository is ready in about the time of its slowest model, not their sum.
      const done: Array<Loaded | undefined> = [];
      let next = 0;
      let failed: unknown;
      const lane = async (): Promise<void> => {
        while (next < files.length && failed === undefined) {
          const i = next++;
          try {
            done[i] = await loadOne(files[i]!);
          } catch (err) {
            failed ??= err;
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(parallelLoads, files.length) }, lane));
      models.push(...done.filter((m): m is Loaded => m !== undefined));
      if (failed !== undefined) {
        failure = (failed as Error).message;
        await Promise.all(models.splice(0).map((m) => m.pool.close()));
        throw failed;
      }
      started = true;
    };

    const endpoint = (model: string, version?: string): ModelEndpoint => ({
      metadata: async () => metadataOf(lookup(model, version), model),
      health: async () => {
        if (!started) return { ready: false, reason: failure ?? 'loading models' };
        return find(model, version) === undefined ? { ready: false, reason: `no model "${model}"${version === undefined ? '' : ` version ${version}`}` } : { ready: true };
      },
      infer: async (req: InferRequest, ctx: CallContext): Promise<InferResponse> => {
        const m = lookup(model, version);
        const wanted = req.outputs?.map((o) => o.name);
        for (const o of wanted ?? []) {
          if (!m.outputs.some((s) => s.name === o)) {
            throw new GatewayError('bad_tensor', `model "${model}" has no output "${o}"; outputs: ${m.outputs.map((s) => s.name).join(', ')}`);
          }
        }
        let inputs: Tensor[];
        if (req.inputs !== undefined) {
          checkAgainstSpec(req.inputs, m.inputs, model);
          inputs = req.inputs;
        } else if (req.instances !== undefined) inputs = rowsToTensors(req.instances, m.inputs, 'instances');
        else throw new GatewayError('bad_request', 'the request carries neither inputs nor instances');
        const started = performance.now();
        let outcome = 'ok';
        try {
          // Tensors built from rows belong to this call and are moved to the worker, not copied.
          const outputs = await m.pool.run(inputs, wanted, ctx.signal, req.inputs === undefined);
          const res: InferResponse = { modelName: model, modelVersion: m.file.version, ...(req.id === undefined ? {} : { id: req.id }) };
          if (req.inputs === undefined) res.predictions = tensorsToPredictions(outputs);
          else res.outputs = outputs;
          return res;
        } catch (err) {
          outcome = err instanceof GatewayError ? err.code : 'internal';
          throw err;
        } finally {
          backendDuration.observe({ backend: name, target: ctx.target ?? '', outcome }, (performance.now() - started) / 1000);
        }
      },
    });

    return {
      name, type: 'onnx',
      start,
      model: endpoint,
      health: async (): Promise<Health> => (started ? { ready: true } : { ready: false, reason: failure ?? 'loading models' }),
      close: async () => {
        started = false;
        await Promise.all(models.splice(0).map((m) => m.pool.close()));
      },
    };
  },
};

function specsOf(values: ValueInfo[], path: string, what: string): TensorSpec[] {
  return values.map((v) => {
    const datatype = v.isTensor ? datatypeOf(v.type ?? '') : undefined;
    if (datatype === undefined) {
      throw new GatewayError('internal', `${path}: ${what} "${v.name}" is ${v.isTensor ? `a ${v.type} tensor` : 'not a tensor (sequence or map)'}, which the gateway cannot serve`);
    }
    return { name: v.name, datatype, shape: specShape(v.shape ?? []) };
  });
}

function metadataOf(m: Loaded, model: string): ModelMetadata {
  const batched = m.inputs.length > 0 && m.inputs.every((s) => s.shape[0] === -1);
  return {
    name: model, versions: [m.file.version], platform: 'onnx_onnxv1',
    inputs: m.inputs, outputs: m.outputs,
    maxBatchSize: batched ? largeBatch : 0,
    parameters: { executionProvider: m.info.provider },
  };
}

/** Models of one repository loaded at once. */
const parallelLoads = 4;

// warmUp runs one inference on zeros; a model may reject zeros (a Reshape fed a shape input),
// so a failure here is logged, not fatal: the model loaded and real inputs may well work.
// One run per worker, at once, so each worker's session gets its first (slow) run.
async function warmUp(m: Loaded, workers: number, backend: string, log: { warn(o: object, msg: string): void }): Promise<void> {
  const zeros = (): Tensor[] => m.inputs.map((s): Tensor => {
    const shape = s.shape.map((d) => (d < 0 ? 1 : d));
    return { name: s.name, datatype: s.datatype, shape, data: allocate(s.datatype, elementCount(shape)) };
  });
  try {
    await Promise.all(Array.from({ length: workers }, () => m.pool.run(zeros(), undefined, undefined, true)));
  } catch (err) {
    log.warn({ backend, model: m.file.name, path: m.file.path, err: (err as Error).message }, `warm-up of ${m.file.path} on zero inputs failed`);
  }
}
