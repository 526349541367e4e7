// early-workers.ts — at a cold start the config's schemas take the main thread for ~100 ms before
// the config can be read. A config whose text names an onnx backend gets its first worker thread
// before that, so it loads onnxruntime meanwhile; and a small config in plain YAML is read at once,
// its onnx backend blocks alone validated, so that their local models begin to load too (the
// first answer of a 100 MB model waited ~150 ms for the rest of the config's schemas). It is a
// guess from a config not validated yet: the start's session pools take a preloaded worker only
// when its options are exactly the ones the validated config gives (spare-workers.ts), and the
// spares nobody took are ended after the start.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { endSpareWorkers, startSpareWorkers } from '../backends/onnx/spare-workers.ts';

// `type: onnx` as a block value or inside a flow map (`{ type: onnx, … }`).
const namesOnnx = /(^|[{,])[ \t]*(-[ \t]+)?type:[ \t]*["']?onnx["']?[ \t]*([,}#]|$)/m;

// Reading the text twice costs well under a millisecond up to here; a config of thousands of
// models is left to the start.
const maxGuessBytes = 64 * 1024;
const require = createRequire(import.meta.url);
// The longest the start waits for the guessed model files to be found (a slow volume).
const guessWaitMs = 50;

/**
 * startEarlyWorkers starts one ONNX worker when the config file's text names an onnx backend, and
 * preloads its local models when it can. It resolves once they are asked for (a few ms of
 * looking for the files, at most guessWaitMs): the start's own module loading holds the event
 * loop for ~100 ms after, which would hold the lookup's answers too.
 */
export async function startEarlyWorkers(file: string, env: Record<string, string | undefined> = process.env): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return; // the config load reports it
  }
  if (!namesOnnx.test(text)) return;
  startSpareWorkers(1);
  if (text.length > maxGuessBytes) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([preloadGuessed(text, env), new Promise((resolve) => { timer = setTimeout(resolve, guessWaitMs); })]);
  } catch {
    // The start finds any problem and reports it.
  } finally {
    clearTimeout(timer);
  }
}

/** settleEarlyWorkers ends the early worker when the validated config has no onnx backend that loads at start. */
export function settleEarlyWorkers(config: { backends: Record<string, { type: string }> }): void {
  if (!Object.values(config.backends).some((b) => b.type === 'onnx' && (b as { lazy?: boolean }).lazy !== true)) endSpareWorkers();
}

// preloadGuessed does what the onnx backends' prestart does, from the text: each `type: onnx`
// block that its own schema accepts, with the models whose targets name it.
// Its modules are required, not imported: an import() graph completes in step with the one the
// start imports meanwhile (~100 ms later); required, they load at once, and the start reuses them.
async function preloadGuessed(text: string, env: Record<string, string | undefined>): Promise<void> {
  const { readPlainConfig } = require('../config/load.ts') as typeof import('../config/load.ts');
  const { onnxSchema } = require('../backends/onnx/onnx.schema.ts') as typeof import('../backends/onnx/onnx.schema.ts');
  const { prestartOnnx } = require('../backends/onnx/prestart.ts') as typeof import('../backends/onnx/prestart.ts');
  const doc = readPlainConfig(text, env)?.value;
  if (!isMap(doc) || !isMap(doc.backends)) return;
  for (const [name, block] of Object.entries(doc.backends)) {
    if (!isMap(block) || block.type !== 'onnx') continue;
    const parsed = onnxSchema.safeParse(block);
    if (parsed.success) await prestartOnnx(parsed.data, modelsOnBackend(doc.models, name));
  }
}

/**
 * modelsOnBackend gives the model names whose targets are on `backend` (a target's `model`, else
 * the model's own), from a config validated or not: what an onnx backend's prestart preloads.
 */
export function modelsOnBackend(models: unknown, backend: string): string[] {
  if (!isMap(models)) return [];
  return Object.entries(models).flatMap(([model, m]) => {
    const targets = isMap(m) && Array.isArray(m.targets) ? m.targets : [];
    return targets.filter((t): t is Record<string, unknown> => isMap(t) && t.backend === backend)
      .map((t) => (typeof t.model === 'string' ? t.model : model));
  });
}

function isMap(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
