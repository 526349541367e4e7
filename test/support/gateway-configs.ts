// gateway-configs.ts (test support) — pieces of gateway YAML that several tests start the
// gateway with (test/support/gateway.ts), so that a change to the config surface is made once.

/**
 * everyFrontend is a `frontends:` block routing every platform contract to one model: Vertex at
 * /vertex/predict and /vertex/health, OCI, SageMaker and KServe on their standard routes.
 */
export function everyFrontend(model: string): string {
  return `frontends:
  vertex: { model: ${model}, predictRoute: /vertex/predict, healthRoute: /vertex/health }
  oci: { model: ${model} }
  sagemaker: { model: ${model} }
  kserve: {}`;
}

export interface EchoConfigOptions {
  /** The `server:` mapping, as YAML flow text: `{ headersTimeoutMs: 1500 }`. */
  server?: string;
  /** Add Vertex rawPredict at /raw, through a passthrough backend to the same echo server. */
  raw?: boolean;
}

/**
 * echoConfig is a whole config: model "echo" behind Vertex at /predict and /health, served by
 * an http backend "web" on the echo server (test/support/echo-backend.ts).
 */
export function echoConfig(echoUrl: string, options: EchoConfigOptions = {}): string {
  const raw = options.raw === true;
  return `
${options.server === undefined ? '' : `server: ${options.server}\n`}frontends:
  vertex: { model: echo, predictRoute: /predict, healthRoute: /health${raw ? ', rawPredictRoute: /raw, rawBackend: pass' : ''} }
backends:
  web: { type: http, url: "${echoUrl}" }
${raw ? `  pass: { type: passthrough, url: "${echoUrl}" }\n` : ''}models:
  echo: { targets: [ { backend: web } ] }
`;
}
