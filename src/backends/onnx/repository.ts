// repository.ts — finds the model files the ONNX backend serves. A repository is laid out as
// Triton's (DIR/<model>/<version>/model.onnx, versions are positive integers); which versions
// of a model are served follows a version policy like Triton's version_policy (the latest N,
// specific ones, or all; the highest one by default). Model and version folders may be
// symlinks (Kubernetes volume mounts and shared model stores use them): they are followed.
// A remote repository (Vertex's AIP_STORAGE_URI, an S3 ModelDataUrl) is made local first by the
// storage layer (src/storage/), before these functions see it.
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

/** VersionPolicy says which versions of a model are served: a list is `specific`. */
export type VersionPolicy = 'all' | { latest: number } | { specific: string[] } | string[];

/** RepositoryOptions says where the models are and which versions to serve. */
export interface RepositoryOptions {
  modelRepository?: string | undefined;
  modelPath?: string | undefined;
  /** Version policy per model name; a model not listed follows `versionPolicy`. */
  versions?: Record<string, VersionPolicy> | undefined;
  /** The policy of models `versions` does not list; the highest version when absent. */
  versionPolicy?: VersionPolicy | undefined;
}

/** singleModelName is the name a lone modelPath is listed under; it answers to any model name. */
export const singleModelName = '*';

/** findModels lists the model files of every model in the repository, or throws bad_request naming what is wrong. */
export async function findModels(options: RepositoryOptions): Promise<ModelFile[]> {
  if (options.modelPath !== undefined) return [await singleFile(options)];
  const dir = await localRepository(options);
  const names = await modelNames(dir);
  const files: ModelFile[] = [];
  for (const name of names) {
    const versions = await versionsOf(join(dir, name));
    if (versions.length === 0) continue; // not a model folder (data/, scripts)
    files.push(...choose(dir, name, versions, policyOf(options, name)));
  }
  for (const name of Object.keys(options.versions ?? {})) {
    if (!names.includes(name)) throw new GatewayError('bad_request', `versions are pinned for model "${name}", which is not in ${dir}`);
  }
  if (files.length === 0) {
    throw new GatewayError('bad_request', `modelRepository ${dir} holds no model: expected ${dir}/<model>/<version>/model.onnx`);
  }
  return files;
}

/** singleFile is the one file of a modelPath backend. */
export async function singleFile(options: RepositoryOptions): Promise<ModelFile> {
  const path = options.modelPath!;
  await mustBeFile(path, 'modelPath');
  return { name: singleModelName, version: '1', path };
}

/** localRepository gives the repository folder. */
export async function localRepository(options: RepositoryOptions): Promise<string> {
  const dir = options.modelRepository;
  if (dir === undefined) throw new GatewayError('bad_request', 'the onnx backend needs modelRepository or modelPath');
  return dir;
}

/** modelNames lists the model folders of a repository (symlinks followed), sorted. */
export async function modelNames(dir: string): Promise<string[]> {
  try {
    return (await folders(dir)).sort();
  } catch (err) {
    throw new GatewayError('bad_request', `modelRepository ${dir} cannot be read: ${(err as Error).message}`);
  }
}

/** modelFiles gives the files of one model under its policy; model_not_found when the repository lacks it. */
export async function modelFiles(dir: string, name: string, options: RepositoryOptions): Promise<ModelFile[]> {
  let versions: string[] = [];
  try {
    versions = await versionsOf(join(dir, name));
  } catch {
    // no such folder: answered below
  }
  if (versions.length === 0) throw new GatewayError('model_not_found', `the repository ${dir} has no model "${name}" (expected ${join(dir, name)}/<version>/model.onnx)`);
  return choose(dir, name, versions, policyOf(options, name));
}

/**
 * sourceFile finds the model file under a folder a model was loaded from at run time
 * (SageMaker's url): the folder's `file`, or the highest <version>/model.onnx, or the path itself
 * when it is a file.
 */
export async function sourceFile(source: string, file: string): Promise<string> {
  if (await isFile(source)) return source;
  if (await isFile(join(source, file))) return join(source, file);
  const versions = await versionsOf(source).catch(() => []);
  if (versions.length > 0) return join(source, versions.at(-1)!, 'model.onnx');
  throw new GatewayError('bad_request', `${source} holds no ${file} (nor <version>/model.onnx)`);
}

function policyOf(options: RepositoryOptions, name: string): VersionPolicy {
  return options.versions?.[name] ?? options.versionPolicy ?? { latest: 1 };
}

// choose applies a version policy to the versions found (lowest first).
function choose(dir: string, name: string, versions: string[], policy: VersionPolicy): ModelFile[] {
  let chosen: string[];
  if (policy === 'all') chosen = versions;
  else if ('latest' in policy) chosen = versions.slice(-policy.latest);
  else {
    chosen = Array.isArray(policy) ? policy : policy.specific;
    for (const version of chosen) {
      if (!versions.includes(version)) {
        throw new GatewayError('bad_request', `model "${name}" has no version ${version} with a model.onnx in ${join(dir, name)}; found ${versions.join(', ')}`);
      }
    }
  }
  return chosen.map((version) => ({ name, version, path: join(dir, name, version, 'model.onnx') }));
}

// folders lists the sub-folders of dir, following symlinks (readdir reports a link, not a folder).
async function folders(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(e.name);
    else if (e.isSymbolicLink() && (await stat(join(dir, e.name)).then((s) => s.isDirectory(), () => false))) out.push(e.name);
  }
  return out;
}

// versionsOf lists the numeric version folders holding a model.onnx, lowest first.
async function versionsOf(modelDir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await folders(modelDir)) {
    // a version folder without model.onnx is skipped, as Triton does
    if (/^[1-9]\d*$/.test(name) && (await isFile(join(modelDir, name, 'model.onnx')))) found.push(name);
  }
  return found.sort((a, b) => Number(a) - Number(b));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function mustBeFile(path: string, key: string): Promise<void> {
  if (!(await isFile(path))) throw new GatewayError('bad_request', `${key} ${path} is not a readable file`);
}
