// module-worker.ts — one worker thread of a transform module: it imports the user's module,
// runs its load() once, then answers preprocess / postprocess calls (and combine calls, for an
// ensemble graph's combine module). What it makes goes back
// to the gateway by transfer (large buffers move, not copied). Logs go to the gateway's logger.

import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { badRequest, type TransformContext, type TransformModule } from './contract.ts';
import { transferablesOf } from './transfer.ts';
import type { WorkerEvent } from './worker-pool.ts';

/** ModuleWorkerData is what the pool starts each worker with. */
export interface ModuleWorkerData {
  file: string;
  model: string;
  options: Record<string, unknown>;
  /** Makes each reload's import a fresh one (Node caches ESM by URL). */
  generation: number;
}

/** ModuleCall is one call the pool sends. */
export interface ModuleCall {
  id: number;
  fn: 'preprocess' | 'postprocess' | 'combine';
  request: unknown;
  response?: unknown;
  /** combine: the members' answers. */
  answers?: unknown[];
}

const data = workerData as ModuleWorkerData;
const port = parentPort!;
const send = (event: WorkerEvent): void => port.postMessage(event, transferablesOf(event));

const log = (level: 'info' | 'warn' | 'error' | 'debug') => (...args: unknown[]): void =>
  send({ type: 'log', level, args: args.map((a) => (a instanceof Error ? a.message : a)) });
const context: TransformContext = {
  model: data.model,
  options: data.options,
  log: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') },
  state: {},
  badRequest,
};

let mod: TransformModule | undefined;
try {
  const imported = await import(`${pathToFileURL(data.file).href}?generation=${data.generation}`) as TransformModule;
  if (typeof imported.preprocess !== 'function' && typeof imported.postprocess !== 'function' && typeof imported.combine !== 'function') {
    throw new Error('it exports none of preprocess, postprocess and combine');
  }
  if (typeof imported.load === 'function') await imported.load(context);
  mod = imported;
  send({ type: 'ready', exports: (['preprocess', 'postprocess', 'combine'] as const).filter((f) => typeof imported[f] === 'function') });
} catch (err) {
  // The pool ends this thread when it reads this; the listener below keeps it until then.
  send({ type: 'load_failed', message: err instanceof Error ? err.message : String(err) });
}

port.on('message', (call: ModuleCall) => {
  if (mod !== undefined) void answer(call, mod);
});

async function answer(call: ModuleCall, mod: TransformModule): Promise<void> {
  try {
    const value = call.fn === 'preprocess'
      ? await mod.preprocess!(call.request as never, context)
      : call.fn === 'postprocess'
        ? await mod.postprocess!(call.response as never, call.request as never, context)
        : await mod.combine!(call.answers as never, call.request as never, context);
    send({ id: call.id, ok: true, value });
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const code = (e as { code?: unknown }).code;
    send({ id: call.id, ok: false, error: { name: e.name, message: e.message, ...(typeof code === 'string' ? { code } : {}) } });
  }
}
