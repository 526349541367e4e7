// plugins.ts — imports the backend and frontend implementations a config uses, before its state
// is built (gateway/build.ts is synchronous and takes them from the registries): a config
// without, say, Triton or gRPC never loads their clients, codecs or .proto files.

import { backendFactory, loadBackends } from '../backends/index.ts';
import { loadFrontends } from '../frontends/index.ts';
import { modelsOnBackend } from './early-workers.ts';
import type { Config } from '../schema.ts';

/**
 * loadPlugins imports what `config` names: each backend's type and each frontend block present.
 * With `prestart` (the process's first config) each backend also begins what its start would
 * wait for, while the rest of the gateway loads and builds.
 */
export async function loadPlugins(config: Config, options: { prestart?: boolean } = {}): Promise<void> {
  const frontends = Object.entries(config.frontends).filter(([, block]) => block !== undefined).map(([key]) => key);
  await Promise.all([loadBackends(Object.values(config.backends).map((b) => b.type)), loadFrontends(frontends)]);
  if (options.prestart !== true) return;
  for (const [name, backend] of Object.entries(config.backends)) {
    backendFactory(backend.type)?.prestart?.(backend, modelsOnBackend(config.models, name));
  }
}
