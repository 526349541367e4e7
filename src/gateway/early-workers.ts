// early-workers.ts — at a cold start the config's schemas take the main thread for ~100 ms before
// the config can be read. A config whose text names an onnx backend gets its first worker thread
// before that, so it loads onnxruntime meanwhile and the backend's prestart can hand it its model
// at once. The text is not validated yet, so this is a guess: the worker is ended once the config
// is read if it has no onnx backend to take it.

import { readFileSync } from 'node:fs';
import { endSpareWorkers, startSpareWorkers } from '../backends/onnx/spare-workers.ts';

// `type: onnx` as a block value or inside a flow map (`{ type: onnx, … }`).
const namesOnnx = /(^|[{,])[ \t]*(-[ \t]+)?type:[ \t]*["']?onnx["']?[ \t]*([,}#]|$)/m;

/** startEarlyWorkers starts one ONNX worker when the config file's text names an onnx backend. */
export function startEarlyWorkers(file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // the config load reports it
  }
  if (namesOnnx.test(text)) startSpareWorkers(1);
}

/** settleEarlyWorkers ends the early worker when the validated config has no onnx backend that loads at start. */
export function settleEarlyWorkers(config: { backends: Record<string, { type: string }> }): void {
  if (!Object.values(config.backends).some((b) => b.type === 'onnx' && (b as { lazy?: boolean }).lazy !== true)) endSpareWorkers();
}
