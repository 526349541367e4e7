// load.ts — loads the files of one ONNX model: a session pool per version (one session per
// worker thread), the input and output specs read from the session, and a warm-up run, so a
// model reported ready answers its first call at full speed. What it holds in memory is
// estimated from the file sizes (each worker's session holds its own copy of the weights) plus
// what each worker thread holds besides (its own V8 heap and runtime: about 27 MB measured here).

import { stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { GatewayError } from '../../errors.ts';
import { allocate } from '../../tensors/datatype.ts';
import { elementCount } from '../../tensors/shape.ts';
import type { Tensor, TensorSpec } from '../../tensors/tensor.ts';
import { datatypeOf, specShape } from './ort-tensor.ts';
import type { ModelFile } from './repository.ts';
import { SessionPool, type SessionInfo } from './session-pool.ts';
import type { ValueInfo, WorkerOptions } from './worker.ts';

/** Loaded is one model version with its sessions. */
export interface Loaded {
  file: ModelFile;
  pool: SessionPool;
  info: SessionInfo;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** SessionSettings are the onnx backend's settings a load uses. */
export interface SessionSettings {
  executionProviders: Array<'cuda' | 'cpu'>;
  workers: number;
  intraOpThreads: number;
  interOpThreads: number;
  spinning: boolean;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  warmup: boolean;
}

/** workerOptions are what a session worker of `path` is started with. */
export function workerOptions(path: string, settings: Omit<SessionSettings, 'workers' | 'warmup'>): WorkerOptions {
  return {
    path, executionProviders: settings.executionProviders, intraOpThreads: settings.intraOpThreads,
    interOpThreads: settings.interOpThreads, spinning: settings.spinning, graphOptimizationLevel: settings.graphOptimizationLevel,
  };
}

/** footprintOf estimates the bytes the files hold once loaded: their sizes and a worker's own memory, once per worker. */
export async function footprintOf(files: ModelFile[], workers: number, workerBytes: number): Promise<number> {
  let bytes = 0;
  for (const f of files) {
    try {
      bytes += (await stat(f.path)).size;
    } catch (err) {
      throw new GatewayError('bad_request', `${f.path} cannot be read: ${(err as Error).message}`);
    }
  }
  return (bytes + workerBytes * files.length) * workers;
}

/**
 * loadFiles loads every file of a model; on a failure the versions already loaded are closed
 * and the error names the file. `warned` holds provider problems already logged, so each is
 * logged once per backend, not once per model.
 */
export async function loadFiles(files: ModelFile[], settings: SessionSettings, backend: string, log: Logger, warned: Set<string>): Promise<Loaded[]> {
  const loaded: Loaded[] = [];
  try {
    for (const file of files) {
      const pool = new SessionPool(workerOptions(file.path, settings));
      let info: SessionInfo;
      const loading = performance.now();
      try {
        info = await pool.start(settings.workers);
      } catch (err) {
        await pool.close();
        throw new GatewayError('internal', `backend "${backend}" cannot load ${file.path}: ${(err as Error).message.replace(`${file.path}: `, '')}`, { cause: err });
      }
      let m: Loaded;
      try {
        m = { file, pool, info, inputs: specsOf(info.inputs, file.path, 'input'), outputs: specsOf(info.outputs, file.path, 'output') };
      } catch (err) {
        await pool.close();
        throw err;
      }
      loaded.push(m);
      for (const skipped of info.skipped) {
        if (warned.has(skipped)) continue;
        warned.add(skipped);
        log.warn({ skipped }, `execution provider unavailable, falling back to ${info.provider}: ${skipped}`);
      }
      // loadMs is the model's own load (the session's creation in its worker); waitedMs what this
      // start waited for it, less when a worker preloaded it (prestart.ts).
      const loadMs = info.sessionMs;
      const waitedMs = Math.round(performance.now() - loading);
      const warming = performance.now();
      if (settings.warmup) await warmUp(m, settings.workers, log);
      const warmupMs = Math.round(performance.now() - warming);
      log.info({ model: file.name, version: file.version, path: file.path, executionProvider: info.provider, workers: settings.workers, loadMs, waitedMs, warmupMs },
        `onnx model ${file.name}/${file.version} loaded on ${info.provider}`);
    }
  } catch (err) {
    await Promise.all(loaded.map((m) => m.pool.close()));
    throw err;
  }
  return loaded;
}

function specsOf(values: ValueInfo[], path: string, what: string): TensorSpec[] {
  return values.map((v) => {
    const datatype = v.isTensor ? datatypeOf(v.type ?? '') : undefined;
    if (datatype === undefined) {
      throw new GatewayError('internal', `${path}: ${what} "${v.name}" is ${v.isTensor ? `a ${v.type} tensor` : 'not a tensor (sequence or map)'}, which the gateway cannot serve`);
    }
    return { name: v.name, datatype, shape: specShape(v.shape ?? []) };
  });
}

// warmUp runs one inference on zeros; a model may reject zeros (a Reshape fed a shape input),
// so a failure here is logged, not fatal: the model loaded and real inputs may well work.
// One run per worker, at once, so each worker's session gets its first (slow) run.
async function warmUp(m: Loaded, workers: number, log: Logger): Promise<void> {
  const zeros = (): Tensor[] => m.inputs.map((s): Tensor => {
    const shape = s.shape.map((d) => (d < 0 ? 1 : d));
    return { name: s.name, datatype: s.datatype, shape, data: allocate(s.datatype, elementCount(shape)) };
  });
  try {
    await Promise.all(Array.from({ length: workers }, () => m.pool.run(zeros(), undefined, undefined, true)));
  } catch (err) {
    log.warn({ model: m.file.name, path: m.file.path, err: (err as Error).message }, `warm-up of ${m.file.path} on zero inputs failed`);
  }
}
