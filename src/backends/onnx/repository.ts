// repository.ts — finds the model files the ONNX backend serves. A repository is laid out as
// Triton's (DIR/<model>/<version>/model.onnx, versions are positive integers); the highest
// version of each model is served unless versions are pinned. A remote repository (Vertex's
// AIP_STORAGE_URI, an S3 ModelDataUrl) is made local first by the storage layer (src/storage/).
// https://github.com/triton-inference-server/server/blob/main/docs/user_guide/model_repository.md

import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../../errors.ts';

/** ModelFile is one model version to load. */
export interface ModelFile {
  name: string;
  version: string;
  path: string;
}

/** RepositoryOptions says where the models are and which versions to serve. */
export interface RepositoryOptions {
  modelRepository?: string | undefined;
  modelPath?: string | undefined;
  /** Pinned versions per model name; a model not listed serves its highest version. */
  versions?: Record<string, string[]> | undefined;
}

/** singleModelName is the name a lone modelPath is listed under; it answers to any model name. */
export const singleModelName = '*';

/** findModels lists the model files to load, or throws bad_request naming what is wrong. */
export async function findModels(options: RepositoryOptions): Promise<ModelFile[]> {
  if (options.modelPath !== undefined) {
    const path = options.modelPath;
    await mustBeFile(path, 'modelPath');
    return [{ name: singleModelName, version: '1', path }];
  }
  const dir = options.modelRepository;
  if (dir === undefined) throw new GatewayError('bad_request', 'the onnx backend needs modelRepository or modelPath');
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    throw new GatewayError('bad_request', `modelRepository ${dir} cannot be read: ${(err as Error).message}`);
  }
  const files: ModelFile[] = [];
  for (const name of names) {
    const versions = await versionsOf(join(dir, name));
    if (versions.length === 0) continue; // not a model folder (data/, scripts)
    const pinned = options.versions?.[name];
    const chosen = pinned ?? [versions.at(-1)!];
    for (const version of chosen) {
      if (!versions.includes(version)) {
        throw new GatewayError('bad_request',
          `model "${name}" has no version ${version} with a model.onnx in ${join(dir, name)}; found ${versions.join(', ')}`);
      }
      files.push({ name, version, path: join(dir, name, version, 'model.onnx') });
    }
  }
  for (const name of Object.keys(options.versions ?? {})) {
    if (!names.includes(name)) throw new GatewayError('bad_request', `versions are pinned for model "${name}", which is not in ${dir}`);
  }
  if (files.length === 0) {
    throw new GatewayError('bad_request', `modelRepository ${dir} holds no model: expected ${dir}/<model>/<version>/model.onnx`);
  }
  return files;
}

// versionsOf lists the numeric version folders holding a model.onnx, lowest first.
async function versionsOf(modelDir: string): Promise<string[]> {
  const entries = await readdir(modelDir, { withFileTypes: true });
  const found: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || !/^[1-9]\d*$/.test(e.name)) continue;
    try {
      if ((await stat(join(modelDir, e.name, 'model.onnx'))).isFile()) found.push(e.name);
    } catch {
      // a version folder without model.onnx is skipped, as Triton does
    }
  }
  return found.sort((a, b) => Number(a) - Number(b));
}

async function mustBeFile(path: string, key: string): Promise<void> {
  try {
    if ((await stat(path)).isFile()) return;
  } catch {
    // fall through
  }
  throw new GatewayError('bad_request', `${key} ${path} is not a readable file`);
}
