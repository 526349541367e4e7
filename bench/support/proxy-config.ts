// proxy-config.ts — the gateway configs the benches share: the proxy path (proxy.ts, ab.ts,
// profile.ts), the Vertex front's parsed route to an `http` backend and its raw route to a
// passthrough, both to one echo backend, so their figures are of the same path; and the
// translation bench's 64-row path (translation.ts, and ab.ts / profile.ts `rows64`).

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
