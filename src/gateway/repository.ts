// repository.ts — the gateway's models as the repository APIs see them (KServe v2's repository
// extension, SageMaker's multi-model API): the configured models, each loaded and unloaded on
// the backends of its targets that load models themselves, and the models loaded at run time
// from the dynamicModels template (model-store.ts).
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_repository.md

import { GatewayError } from '../errors.ts';
import type { ModelPipeline } from '../pipeline.ts';
import type { Backend, ModelRepository, ModelState, RepositoryEntry } from '../types.ts';
import type { ModelStore } from './model-store.ts';

/** createRepository gives the repository over one state's configured models and its run-time store. */
export function createRepository(pipelines: ReadonlyMap<string, ModelPipeline>, backends: ReadonlyMap<string, Backend>, store: ModelStore | undefined): ModelRepository {
  // The backend models of a configured model's targets, on backends that load models themselves.
  const loadable = (name: string): Array<{ backend: Backend; model: string }> => (pipelines.get(name)?.targets ?? [])
    .map((t) => ({ backend: backends.get(t.backend)!, model: t.model }))
    .filter((x) => x.backend.lifecycle !== undefined);

  return {
    get dynamic() { return store !== undefined; },
    async index() {
      const out: RepositoryEntry[] = [];
      for (const [name, p] of pipelines) {
        const states = loadable(name).flatMap(({ backend, model }) => backend.lifecycle!.models().filter((s) => s.name === model));
        if (states.length > 0) {
          for (const s of states) out.push({ name, ...(s.version === '' ? {} : { version: s.version }), state: upper(s.state), reason: s.reason ?? '' });
          continue;
        }
        // A model on a remote server (or a graph): its state is its readiness.
        const ready = p.ready() && (p.graph !== undefined || p.targets.some((t) => t.health.ready));
        const reason = ready ? '' : (p.targets.find((t) => !t.health.ready)?.health.reason ?? 'not ready');
        out.push({ name, state: ready ? 'READY' : 'UNAVAILABLE', reason });
      }
      if (store !== undefined) {
        const loaded = new Set(store.loaded().map((m) => m.name));
        for (const s of store.backend.lifecycle!.models()) {
          // The store's own models, and what a loadAll backend holds that no configured model names.
          if (pipelines.has(s.name) || (!loaded.has(s.name) && configuredOn(pipelines, store.backend.name, s.name))) continue;
          out.push({ name: s.name, ...(s.version === '' ? {} : { version: s.version }), state: upper(s.state), reason: s.reason ?? '' });
        }
      }
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async load(name, options = {}) {
      if (pipelines.has(name) && options.source === undefined) {
        const on = loadable(name);
        if (on.length === 0) throw new GatewayError('bad_request', `model "${name}" is served by backends that do not load models themselves; load it on its server`);
        if (options.exclusive === true && on.every(({ backend, model }) => stateOf(backend, model) === 'ready')) {
          throw new GatewayError('model_exists', `model "${name}" is already loaded`);
        }
        await Promise.all(on.map(({ backend, model }) => backend.lifecycle!.load(model)));
        return;
      }
      if (pipelines.has(name)) throw new GatewayError('model_exists', `model "${name}" is a configured model; a run-time model needs another name`);
      if (store === undefined) throw new GatewayError('model_not_found', `model "${name}" is not configured, and no dynamicModels block says how to load models at run time`);
      if (store.has(name)) {
        if (options.exclusive === true) throw new GatewayError('model_exists', `model "${name}" is already loaded`);
        return;
      }
      await store.load(name, options.source);
    },
    async unload(name) {
      if (pipelines.has(name)) {
        const on = loadable(name);
        if (on.length === 0) throw new GatewayError('bad_request', `model "${name}" is served by backends that do not load models themselves; unload it on its server`);
        await Promise.all(on.map(({ backend, model }) => backend.lifecycle!.unload(model)));
        return;
      }
      if (store === undefined) throw new GatewayError('model_not_found', `model "${name}" is not loaded`);
      await store.unload(name);
    },
    loaded: () => store?.loaded() ?? [],
  };
}

function stateOf(backend: Backend, model: string): ModelState['state'] | undefined {
  return backend.lifecycle!.models().find((s) => s.name === model)?.state;
}

function configuredOn(pipelines: ReadonlyMap<string, ModelPipeline>, backend: string, model: string): boolean {
  for (const p of pipelines.values()) if (p.targets.some((t) => t.backend === backend && t.model === model)) return true;
  return false;
}

function upper(state: ModelState['state']): RepositoryEntry['state'] {
  return state.toUpperCase() as RepositoryEntry['state'];
}
