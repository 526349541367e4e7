// onnx.ts — the built-in ONNX Runtime backend: serves the models of a Triton-style repository
// (or one file) with no other server. Each model gets a pool of worker threads, one session
// each (session.run blocks its thread). It loads the models the config names (every model in
// the repository with loadAll), at start or on first use (lazy); each has its own lifecycle
// (model-slot.ts): one that fails to load is unavailable while the others serve, and models load
// and unload at run time (repository API, SageMaker multi-model endpoints) through `lifecycle`.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { rowsRequestToTensors } from '../../codecs/instances.ts';
import { rowAnswer } from '../../codecs/row-answer.ts';
import { GatewayError } from '../../errors.ts';
import { backendDuration, modelLoadSeconds, modelMemoryBytes } from '../../observe/metrics.ts';
import { fetchReason } from '../../storage/progress.ts';
import { artifactVersion, fetchArtifact, type Fetched } from '../../storage/store.ts';
import { hasRows } from '../../tensors/row-block.ts';
import { checkAgainstSpec } from '../../tensors/shape.ts';
import type { InferRequest, InferResponse, Tensor } from '../../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health, ModelEndpoint, ModelLifecycle } from '../../types.ts';
import { onnxSchema, type OnnxConfig } from './onnx.schema.ts';
import { configOf, metadataOf } from './describe.ts';
import { footprintOf, loadFiles, type Loaded } from './load.ts';
import { ModelSlot } from './model-slot.ts';
import { prestartOnnx } from './prestart.ts';
import { endSpareWorkers } from './spare-workers.ts';
import { localRepository, modelFiles, modelNames, singleFile, singleModelName, sourceFile, type ModelFile, type RepositoryOptions } from './repository.ts';


const runtimeLabel = '_runtime'; // the metric label of a model loaded at run time (a caller names it, not the config)

/** onnx is the registry entry of the built-in ONNX Runtime backend. */
export const onnx: BackendFactory<OnnxConfig> = {
  type: 'onnx',
  schema: onnxSchema,
  prestart: prestartOnnx,
  create(name, config, deps): Backend {
    const slots = new Map<string, ModelSlot<Loaded>>();
    // The model names the config's targets asked for before start: those are loaded.
    const wanted = new Set<string>();
    const warned = new Set<string>();
    const onFailure = deps.modelLoadErrors ?? 'exit';
    const repo: RepositoryOptions = { modelRepository: config.modelRepository, modelPath: config.modelPath, versions: config.versions, versionPolicy: config.versionPolicy };
    let dir: string | undefined;
    let started = false;
    let failure: string | undefined;
    // Where the models come from; the storage layer makes it local (and keeps it cached) at start.
    const location = config.modelPath ?? config.modelRepository!;
    let fetched: Fetched | undefined;
    let starting: Promise<void> | undefined;

    const loader = (model: string, source?: string) => async (known: ModelFile[] | undefined) => {
      const files = known ?? (source !== undefined ? [{ name: model, version: '1', path: await sourceFile(source, config.file) }] : await filesOf(model));
      const label = source === undefined ? model : runtimeLabel;
      const began = performance.now();
      try {
        const loaded = await loadFiles(files, config, name, deps.log, warned);
        const bytes = await footprintOf(files, config.workers, config.workerMemory);
        modelLoadSeconds.observe({ backend: name, model: label, outcome: 'ok' }, (performance.now() - began) / 1000);
        modelMemoryBytes.inc({ backend: name, model: label }, bytes);
        return {
          files, loaded, bytes,
          close: async () => {
            modelMemoryBytes.dec({ backend: name, model: label }, bytes);
            await Promise.all(loaded.map((m) => m.pool.close()));
          },
        };
      } catch (err) {
        modelLoadSeconds.observe({ backend: name, model: label, outcome: 'failed' }, (performance.now() - began) / 1000);
        throw err;
      }
    };
    const filesOf = async (model: string): Promise<ModelFile[]> => {
      if (config.modelPath !== undefined) return [await singleFile(repo)];
      dir ??= await localRepository(repo);
      return modelFiles(dir, model, repo);
    };
    const slotOf = (model: string, source?: string): ModelSlot<Loaded> =>
      slots.get(model) ?? slots.set(model, new ModelSlot(model, undefined, loader(model, source), source)).get(model)!;
    // find gives the slot serving `model`: its own, or the lone modelPath model's.
    const find = (model: string): ModelSlot<Loaded> | undefined => slots.get(model) ?? slots.get(singleModelName);

    const start = async (): Promise<void> => {
      try {
        await startModels();
      } finally {
        endSpareWorkers(); // those this start's models did not take
      }
    };
    const startModels = async (): Promise<void> => {
      try {
        fetched = await fetchArtifact(location, `backend "${name}"`, deps.log);
      } catch (err) {
        failure = (err as Error).message;
        throw err;
      }
      // A modelPath archive unpacks to a folder holding model.onnx.
      if (config.modelPath !== undefined) repo.modelPath = await isFolder(fetched.path) ? join(fetched.path, 'model.onnx') : fetched.path;
      else repo.modelRepository = fetched.path;
      const names = config.modelPath !== undefined ? [singleModelName] : [...wanted];
      if (config.modelPath === undefined) {
        dir = await localRepository(repo);
        if (config.loadAll) names.push(...(await modelNames(dir)).filter((n) => !wanted.has(n)));
      }
      try {
        const toLoad: Array<[string, ModelSlot<Loaded>]> = [];
        for (const model of names) {
          const slot = slotOf(model);
          try {
            slot.files ??= await filesOf(model);
          } catch (err) {
            // loadAll: a folder that is no model (data/, scripts) is not one to serve.
            if (!wanted.has(model) && config.modelPath === undefined && err instanceof GatewayError && err.code === 'model_not_found') {
              slots.delete(model);
              continue;
            }
            if (onFailure === 'exit') throw err;
            slot.state = 'unavailable';
            slot.reason = (err as Error).message;
            deps.log.error({ model, err: slot.reason }, `onnx model ${model} is unavailable: ${slot.reason}`);
            continue;
          }
          if (!config.lazy) toLoad.push([model, slot]);
        }
        // Models load and warm up side by side (each session loads and runs on its own worker
        // threads), a few at a time so a large repository does not hold every file in memory at
        // once: a repository is ready in about the time of its slowest model, not their sum.
        let next = 0;
        let failed: unknown;
        const lane = async (): Promise<void> => {
          while (next < toLoad.length && failed === undefined) {
            const [model, slot] = toLoad[next++]!;
            try {
              await slot.load();
            } catch (err) {
              if (onFailure === 'exit') failed ??= err;
              else deps.log.error({ model, err: (err as Error).message }, `onnx model ${model} failed to load; serving the others (modelLoadErrors: continue)`);
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(parallelLoads, toLoad.length) }, lane));
        if (failed !== undefined) throw failed;
        for (const model of Object.keys(config.versions ?? {})) {
          if (!slots.has(model) && onFailure === 'exit' && (config.loadAll || wanted.has(model))) {
            throw new GatewayError('bad_request', `versions are pinned for model "${model}", which is not in ${dir}`);
          }
        }
      } catch (err) {
        failure = (err as Error).message;
        await Promise.all([...slots.values()].map((s) => s.close()));
        slots.clear();
        throw err;
      }
      started = true;
    };

    // version picks the loaded version a call names (the highest when it names none).
    const pick = (slot: ModelSlot<Loaded>, model: string, v?: string): Loaded => {
      const m = v === undefined
        ? slot.loaded.reduce<Loaded | undefined>((a, x) => (a === undefined || Number(x.file.version) > Number(a.file.version) ? x : a), undefined)
        : slot.loaded.find((x) => x.file.version === v);
      if (m !== undefined) return m;
      const served = (slot.files ?? []).map((x) => x.version).join(', ') || 'none';
      throw new GatewayError('model_not_found', `backend "${name}" has no model "${model}"${v === undefined ? '' : ` version ${v}`}; versions served: ${served}`);
    };
    // use runs `call` on the loaded version, counted in flight so an unload waits for it.
    const use = async <T>(model: string, v: string | undefined, call: (m: Loaded) => Promise<T>): Promise<T> => {
      if (!started) throw new GatewayError('not_ready', `backend "${name}" is still loading its models${failure === undefined ? '' : `: ${failure}`}`);
      const slot = find(model);
      if (slot === undefined) throw new GatewayError('model_not_found', `backend "${name}" has no model "${model}"; it serves ${[...slots.keys()].join(', ') || 'none'}`);
      if (v !== undefined && slot.files !== undefined && !slot.files.some((f) => f.version === v)) pick(slot, model, v);
      await slot.acquire(true);
      try {
        return await call(pick(slot, model, v));
      } finally {
        slot.release();
      }
    };

    const endpoint = (model: string, v?: string): ModelEndpoint => {
      // A model named after start (a reload added it) loads now, in the background; calls wait for it.
      if (!started) wanted.add(model);
      else if (find(model) === undefined && config.modelPath === undefined) void slotOf(model).load().catch(() => {});
      return {
        metadata: async () => use(model, v, async (m) => metadataOf(m, model)),
        config: async () => use(model, v, async (m) => configOf(m, model, config.workers)),
        health: async () => healthOf(model, v),
        infer: async (req: InferRequest, ctx: CallContext): Promise<InferResponse> => use(model, v, (m) => run(m, model, req, ctx)),
      };
    };
    const healthOf = (model: string, v?: string): Health => {
      if (!started) return { ready: false, reason: failure ?? fetchReason(location) ?? 'loading models' };
      const slot = find(model);
      if (slot === undefined) return { ready: false, reason: `no model "${model}"` };
      if (v !== undefined && slot.files !== undefined && !slot.files.some((f) => f.version === v)) return { ready: false, reason: `no model "${model}" version ${v}` };
      // A lazy model counts as ready before and while its first load runs: calls wait for it.
      if (slot.state === 'ready' || (config.lazy && (slot.state === 'loading' || (slot.state === 'unloaded' && slot.reason !== 'unloaded')))) return { ready: true };
      return { ready: false, reason: slot.state === 'unavailable' ? `failed to load: ${slot.reason}` : slot.state === 'unloaded' ? (slot.reason ?? 'not loaded') : slot.state };
    };

    const run = async (m: Loaded, model: string, req: InferRequest, ctx: CallContext): Promise<InferResponse> => {
      const wantedOutputs = req.outputs?.map((o) => o.name);
      for (const o of wantedOutputs ?? []) {
        if (!m.outputs.some((s) => s.name === o)) {
          throw new GatewayError('bad_tensor', `model "${model}" has no output "${o}"; outputs: ${m.outputs.map((s) => s.name).join(', ')}`);
        }
      }
      let inputs: Tensor[];
      if (req.inputs !== undefined) {
        checkAgainstSpec(req.inputs, m.inputs, model);
        inputs = req.inputs;
      } else if (hasRows(req)) inputs = rowsRequestToTensors(req, m.inputs);
      else throw new GatewayError('bad_request', 'the request carries neither inputs nor instances');
      const began = performance.now();
      let outcome = 'ok';
      try {
        // Tensors built from rows belong to this call and are moved to the worker, not copied.
        const outputs = await m.pool.run(inputs, wantedOutputs, ctx.signal, req.inputs === undefined);
        const res: InferResponse = req.inputs === undefined ? rowAnswer(outputs) : { outputs };
        res.modelName = model;
        res.modelVersion = m.file.version;
        if (req.id !== undefined) res.id = req.id;
        return res;
      } catch (err) {
        outcome = err instanceof GatewayError ? err.code : 'internal';
        throw err;
      } finally {
        backendDuration.at(name, ctx.target ?? '', outcome).observe((performance.now() - began) / 1000);
      }
    };

    const lifecycle: ModelLifecycle = {
      models: () => [...slots.values()].flatMap((s) => s.states()),
      footprint: async (model, source) => footprintOf(source !== undefined ? [{ name: model, version: '1', path: await sourceFile(source, config.file) }] : await filesOf(model), config.workers, config.workerMemory),
      load: async (model, source) => {
        await starting?.catch(() => {}); // a load during the start (a reload) waits: loaded means invokable
        if (!started) throw new GatewayError('not_ready', `backend "${name}" is not started${failure === undefined ? '' : `: ${failure}`}`);
        const slot = slots.get(model);
        if (slot !== undefined && source !== undefined && slot.source !== source) {
          throw new GatewayError('model_exists', `backend "${name}" already has a model "${model}"${slot.source === undefined ? ' from its repository' : ` from ${slot.source}`}`);
        }
        const s = slotOf(model, source);
        await s.load();
        return s.states();
      },
      unload: async (model) => {
        const slot = slots.get(model);
        if (slot === undefined || slot.state === 'unloaded') throw new GatewayError('model_not_found', `backend "${name}" has no model "${model}" loaded`);
        await slot.unload();
        if (slot.source !== undefined) slots.delete(model);
      },
    };

    return {
      name, type: 'onnx',
      start: () => (starting ??= start()),
      model: endpoint,
      lifecycle,
      health: async (): Promise<Health> => (started ? { ready: true } : { ready: false, reason: failure ?? fetchReason(location) ?? 'loading models' }),
      // A reload rebuilds this backend when its remote artifact has a new generation/ETag.
      changed: async () => fetched !== undefined && fetched.version !== '' && await artifactVersion(location) !== fetched.version,
      close: async () => {
        started = false;
        fetched?.release();
        await Promise.all([...slots.values()].map((s) => s.close()));
        slots.clear();
      },
    };
  },
};

/** Models of one repository loaded at once. */
const parallelLoads = 4;

async function isFolder(path: string): Promise<boolean> {
  return stat(path).then((st) => st.isDirectory(), () => false);
}
