// prestart.ts — what an onnx backend begins as soon as the config is read (BackendFactory
// prestart), while the gateway's own modules load, it builds and it listens: worker threads that
// load onnxruntime, and, for local files, the sessions of the models the config names, found the
// way the start finds them. The start's session pools take those workers (spare-workers.ts); a
// guess that misses (the start resolves another file) costs a worker that is then ended.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { archiveKind, parseLocation } from '../../storage/uri.ts';
import type { OnnxConfig } from './onnx.schema.ts';
import { workerOptions } from './load.ts';
import { modelFiles, type ModelFile } from './repository.ts';
import { preloadSpareWorkers, startSpareWorkers } from './spare-workers.ts';

/** Model files preloaded at most, as many as the start loads side by side. */
const maxPreloads = 4;

/**
 * prestartOnnx starts an onnx backend's workers, and its named models' sessions where they are
 * local files; the promise says when those are asked for (it never rejects).
 */
export function prestartOnnx(config: OnnxConfig, models: readonly string[]): Promise<void> {
  if (config.lazy) return Promise.resolve();
  startSpareWorkers(config.workers);
  const loc = parseLocation(config.modelPath ?? config.modelRepository!);
  // A remote model is fetched by the start (through the storage cache); the workers load the runtime meanwhile.
  if (loc.scheme !== 'file' || archiveKind(loc.path) !== undefined) return Promise.resolve();
  return localFiles(config, loc.path, models).then((files) => {
    for (const file of files.slice(0, maxPreloads)) preloadSpareWorkers(workerOptions(file.path, config), config.workers);
  }, () => undefined); // the start finds the same problem and reports it
}

async function localFiles(config: OnnxConfig, path: string, models: readonly string[]): Promise<ModelFile[]> {
  if (config.modelPath !== undefined) {
    const folder = await stat(path).then((st) => st.isDirectory(), () => false);
    return [{ name: '*', version: '1', path: folder ? join(path, 'model.onnx') : path }];
  }
  const repo = { modelRepository: path, modelPath: undefined, versions: config.versions, versionPolicy: config.versionPolicy };
  const found = await Promise.all([...new Set(models)].map((m) => modelFiles(path, m, repo).catch(() => [])));
  return found.flat();
}
