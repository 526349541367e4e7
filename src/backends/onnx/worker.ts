// worker.ts — a worker_threads entry that owns one onnxruntime InferenceSession. session.run
// blocks its thread for the whole inference, so it runs here and never on the gateway's loop.
// Protocol: workerData = WorkerOptions (or, for a spare, the first message in); first message out is Loaded or LoadFailed; then one
// RunReply per RunCall, in order (the pool sends one call at a time).

import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { GatewayError } from '../../errors.ts';
import type { Tensor } from '../../tensors/tensor.ts';
import { fromOrtTensor, toOrtTensor, transferables } from './ort-tensor.ts';

/** WorkerOptions is what the pool passes as workerData. */
export interface WorkerOptions {
  path: string;
  executionProviders: Array<'cuda' | 'cpu'>;
  intraOpThreads: number;
  interOpThreads: number;
  spinning: boolean;
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
}

/** ValueInfo is a session input or output as the runtime declares it. */
export interface ValueInfo {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: Array<number | string>;
}

/** WorkerMessage is anything the worker posts. */
export type WorkerMessage =
  | { kind: 'loaded'; provider: string; skipped: string[]; inputs: ValueInfo[]; outputs: ValueInfo[]; sessionMs: number }
  | { kind: 'load_failed'; message: string }
  | { kind: 'reply'; id: number; outputs?: Tensor[]; error?: { code: string; message: string } };

/** RunCall asks for one inference; outputs limits what is fetched. The string 'close' ends the worker. */
export interface RunCall {
  id: number;
  inputs: Tensor[];
  outputs?: string[];
}

// A spare worker (spare-workers.ts) starts before its model is known, with no workerData: the
// runtime above loads meanwhile, and the options come as its first message.
// A spare not needed after all gets 'close' instead (process.exit ends this thread only).
const given = (workerData as WorkerOptions | undefined) ?? await new Promise<WorkerOptions | 'close'>((resolve) => parentPort!.once('message', resolve));
if (given === 'close') process.exit(0);
const options = given;
// The runtime prints its own error lines for a provider that fails to load; the pool reports
// that once, as a warning, in the gateway's log instead.
ort.env.logLevel = 'fatal';
// onnxruntime-common wraps float16 data in Float16Array when the global exists (Node 24), but
// the native binding cannot read a Float16Array (N-API has no such typed-array kind) and sees
// 0 bytes. Hiding it in this thread, before the first Tensor is built, keeps FP16 as raw bits.
(globalThis as { Float16Array?: unknown }).Float16Array = undefined;
const port = parentPort!;

async function load(): Promise<{ session: ort.InferenceSession; provider: string; skipped: string[] }> {
  const skipped: string[] = [];
  // CPU is always the last resort: a gateway configured for CUDA on a machine without its
  // libraries serves on CPU with a warning rather than refusing to start.
  const providers = options.executionProviders.includes('cpu') ? options.executionProviders : [...options.executionProviders, 'cpu' as const];
  let last: unknown;
  for (const provider of providers) {
    try {
      const session = await ort.InferenceSession.create(options.path, {
        executionProviders: [provider],
        intraOpNumThreads: options.intraOpThreads,
        interOpNumThreads: options.interOpThreads,
        graphOptimizationLevel: options.graphOptimizationLevel,
        // Spinning threads burn a core while idle: off by default on a shared machine.
        extra: { session: {
          intra_op: { allow_spinning: options.spinning ? '1' : '0' },
          inter_op: { allow_spinning: options.spinning ? '1' : '0' },
        } },
        logSeverityLevel: 4, // failures come back as exceptions; the native log would only repeat them on stderr
      });
      return { session, provider, skipped };
    } catch (err) {
      last = err;
      skipped.push(`${provider}: ${firstLine(err)}`);
    }
  }
  throw last;
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\x1b\[[0-9;]*m/g, '').split('\n')[0]!.trim();
}

function describe(list: readonly ort.InferenceSession.ValueMetadata[]): ValueInfo[] {
  return list.map((m) => (m.isTensor ? { name: m.name, isTensor: true, type: m.type, shape: [...m.shape] } : { name: m.name, isTensor: false }));
}

try {
  const began = performance.now();
  const { session, provider, skipped } = await load();
  port.postMessage({
    kind: 'loaded', provider, skipped, sessionMs: Math.round(performance.now() - began),
    inputs: describe(session.inputMetadata), outputs: describe(session.outputMetadata),
  } satisfies WorkerMessage);
  port.on('message', async (call: RunCall | 'close') => {
    if (call === 'close') {
      // Messages wait while session.run holds this thread, so no run is in progress here:
      // release the session and let the thread end (terminate() mid-run aborts the process).
      await session.release();
      port.close();
      return;
    }
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const t of call.inputs) feeds[t.name] = toOrtTensor(ort.Tensor, t);
      const result = call.outputs === undefined ? await session.run(feeds) : await session.run(feeds, call.outputs);
      const names = call.outputs ?? session.outputNames;
      const outputs = names.map((n) => fromOrtTensor(n, result[n] as ort.Tensor));
      for (const v of Object.values(result)) (v as ort.Tensor).dispose?.();
      port.postMessage({ kind: 'reply', id: call.id, outputs } satisfies WorkerMessage, transferables(outputs));
    } catch (err) {
      const code = err instanceof GatewayError ? err.code : 'backend_error';
      port.postMessage({ kind: 'reply', id: call.id, error: { code, message: firstLine(err) } } satisfies WorkerMessage);
    }
  });
} catch (err) {
  port.postMessage({ kind: 'load_failed', message: firstLine(err) } satisfies WorkerMessage);
}
