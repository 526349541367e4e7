// config.ts — the gateway the fuzzers attack: every frontend in front of the bundled ONNX model,
// so any 5xx is the gateway's own fault.
export const fuzzConfig = `
server: { logLevel: error, maxBodyBytes: 64kb }
frontends:
  vertex: { model: iris, predictRoute: /vertex/predict, healthRoute: /vertex/health }
  oci: { model: iris }
  sagemaker: { model: iris }
  kserve: {}
backends:
  local: { type: onnx, modelRepository: backends/onnx }
models:
  iris: { timeoutMs: 2000, targets: [ { backend: local } ] }
`;
