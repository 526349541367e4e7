// plugins.ts — imports the backend and frontend implementations a config uses, before its state
// is built (gateway/build.ts is synchronous and takes them from the registries): a config
// without, say, Triton or gRPC never loads their clients, codecs or .proto files.

import { loadBackends } from '../backends/index.ts';
import { loadFrontends } from '../frontends/index.ts';
import type { Config } from '../schema.ts';

/** loadPlugins imports what `config` names: each backend's type and each frontend block present. */
export async function loadPlugins(config: Config): Promise<void> {
  const frontends = Object.entries(config.frontends).filter(([, block]) => block !== undefined).map(([key]) => key);
  await Promise.all([loadBackends(Object.values(config.backends).map((b) => b.type)), loadFrontends(frontends)]);
}
