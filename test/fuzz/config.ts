// config.ts — the gateway the fuzzers attack: every frontend in front of the bundled ONNX model,
// so any 5xx is the gateway's own fault.
import { everyFrontend } from '../support/gateway-configs.ts';

export const fuzzConfig = `
server: { logLevel: error, maxBodyBytes: 64kb }
${everyFrontend('iris')}
backends:
  local: { type: onnx, modelRepository: backends/onnx }
models:
  iris: { timeoutMs: 2000, targets: [ { backend: local } ] }
`;
