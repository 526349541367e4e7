// proxy-config.ts — the gateway configs the benches share: the proxy path (proxy.ts, ab.ts,
// profile.ts), the Vertex front's parsed route to an `http` backend and its raw route to a
// passthrough, both to one echo backend, so their figures are of the same path; and the
// translation bench's 64-row path (translation.ts, and ab.ts / profile.ts `rows64`).

import { vertexBody } from '../translation.ts';
import { startNodeServer, type Proc } from './processes.ts';

/** proxyBenchConfig gives the config for an echo backend on 127.0.0.1:port. */
export function proxyBenchConfig(port: number): string {
  return `
server: { logLevel: warn }
frontends:
  vertex: { model: m, predictRoute: /predict, healthRoute: /health, rawPredictRoute: /raw/predict, rawBackend: raw }
backends:
  echo: { type: http, url: "http://127.0.0.1:${port}", predictPath: /predict, healthPath: /health }
  raw: { type: passthrough, url: "http://127.0.0.1:${port}" }
models:
  m: { targets: [ { backend: echo } ] }
`;
}

/** rowsBenchConfig gives the config of the translation bench's path: model `model` on the v2 stub on 127.0.0.1:port. */
export function rowsBenchConfig(port: number, model: string, binary: boolean): string {
  return `
server: { logLevel: warn, maxBodyBytes: 16mb }
frontends: { vertex: { model: ${model}, predictRoute: /predict, healthRoute: /health, maxResponseBytes: 16mb } }
backends: { tri: { type: triton, url: "http://127.0.0.1:${port}", binary: ${binary} } }
models: { ${model}: { targets: [ { backend: tri } ] } }
`;
}

/** BenchPath is one bench path's backend process, the gateway's config for it, and its load. */
export interface BenchPath { backend: Proc; config: string; body: string; connections: number }

/**
 * startBenchPath starts the backend of the proxy path (the echo backend, 8-row Vertex bodies, 32
 * connections) or of the translation bench's 64-row path (its v2 stub, 64 instances of 16
 * numbers, 4 connections; `binary` for binary tensors).
 */
export async function startBenchPath(rows64: boolean, binary = false): Promise<BenchPath> {
  if (rows64) {
    const backend = await startNodeServer(new URL('../translation.ts', import.meta.url).href, ['--stub-v2']);
    return { backend, config: rowsBenchConfig(backend.port, 'rows', binary), body: vertexBody(64, [16]).toString(), connections: 4 };
  }
  const backend = await startNodeServer(new URL('./echo-backend.ts', import.meta.url).href);
  const body = JSON.stringify({ instances: Array.from({ length: 8 }, (_, i) => [5.1 + i, 3.5, 1.4, 0.2]) });
  return { backend, config: proxyBenchConfig(backend.port), body, connections: 32 };
}
