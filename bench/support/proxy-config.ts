// proxy-config.ts — the gateway config the proxy benches share (proxy.ts, ab.ts, profile.ts): the
// Vertex front's parsed route to an `http` backend and its raw route to a passthrough, both to
// one echo backend, so their figures are of the same path.

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
