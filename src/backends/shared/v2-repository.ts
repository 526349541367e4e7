// v2-repository.ts — a model server's own lifecycle through the KServe v2 model repository
// extension (Triton's and MLServer's): POST /v2/repository/index for the models and their states,
// POST /v2/repository/models/{m}/load and /unload. A Triton started with
// --model-control-mode=explicit loads only what it is told, so "a Triton model of that name"
// can be loaded and unloaded at run time (dynamicModels, the gateway's repository API).
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_model_repository.md

import { parseJson } from '../../codecs/json.ts';
import { GatewayError } from '../../errors.ts';
import type { ModelLifecycle, ModelState } from '../../types.ts';
import { statusError, type ServerLink } from './link.ts';

// How long the index read by models() may be old before a call refreshes it (in the background).
const indexMaxAgeMs = 1000;

/** v2Repository gives the lifecycle of the models of a server that has the repository extension. */
export function v2Repository(link: ServerLink, where: string): ModelLifecycle & { refresh(): Promise<void> } {
  let index: ModelState[] = [];
  let readAt = -Infinity;
  let reading: Promise<void> | undefined;
  const refresh = (): Promise<void> => (reading ??= (async () => {
    try {
      const answer = await link.send({ method: 'POST', path: '/v2/repository/index', body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(5000) });
      if (answer.status !== 200) return;
      const doc = parseJson(answer.body, { what: `${where} repository index` });
      if (Array.isArray(doc)) index = doc.flatMap(stateOf);
      readAt = performance.now();
    } catch {
      // the server is down or has no repository extension: the index stays as it was
    } finally {
      reading = undefined;
    }
  })());
  const post = async (path: string, what: string): Promise<void> => {
    const answer = await link.send({ method: 'POST', path, body: '{}', headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(600_000) });
    if (answer.status !== 200) {
      const err = statusError(answer, `${where} ${what}`);
      // Triton answers a model it cannot find or load with 400 and its reason.
      throw answer.status === 400 || answer.status === 404 ? new GatewayError('model_not_found', `${where}: ${err.message}`) : err;
    }
    await refresh();
  };
  return {
    models() {
      if (performance.now() - readAt > indexMaxAgeMs) void refresh();
      return index;
    },
    // The server does not say what a model will hold: only maxModels bounds such models.
    footprint: async () => 0,
    load: async (name) => {
      await post(`/v2/repository/models/${encodeURIComponent(name)}/load`, `load of "${name}"`);
      return index.filter((s) => s.name === name);
    },
    unload: (name) => post(`/v2/repository/models/${encodeURIComponent(name)}/unload`, `unload of "${name}"`),
    refresh,
  };
}

// stateOf reads one index entry: {name, version?, state?, reason?} (Triton omits state for a model never loaded).
function stateOf(entry: unknown): ModelState[] {
  if (typeof entry !== 'object' || entry === null) return [];
  const e = entry as Record<string, unknown>;
  if (typeof e.name !== 'string') return [];
  const raw = typeof e.state === 'string' ? e.state.toLowerCase() : 'unavailable';
  const state: ModelState['state'] = raw === 'ready' || raw === 'loading' || raw === 'unloading' ? raw : 'unavailable';
  const reason = typeof e.reason === 'string' && e.reason !== '' ? e.reason : undefined;
  return [{ name: e.name, version: typeof e.version === 'string' ? e.version : '', state, ...(reason === undefined ? {} : { reason }) }];
}
