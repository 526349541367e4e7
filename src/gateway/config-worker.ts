// config-worker.ts — reads and validates a config file on a worker thread, for reloads: YAML
// parsing of a large config takes seconds (the yaml library tokenises about 1 MB a second),
// and on the main thread it would stop every request and health answer meanwhile.

import { isMainThread, MessageChannel, parentPort, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { ConfigError, type ConfigIssue } from '../config/load.ts';
import { loadConfigFile, type Config } from '../schema.ts';

// The models of a large config come in messages of this many, on a port of their own, which the
// main thread reads one message per turn of its event loop: 20,000 models in one message took
// 30-50 ms to read back, and Node reads every message waiting on a port in one go.
const modelsPerMessage = 1000;

type Answer = { ok: true; config: Config } | { ok: false; message: string; issues?: ConfigIssue[] };

/** loadOffThread loads `file` as loadConfigFile does, on a worker thread; throws ConfigError. */
export function loadOffThread(file: string, env: Record<string, string | undefined> = process.env): Promise<Config> {
  const { port1: parts, port2 } = new MessageChannel();
  return new Promise<Config>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { file, env, parts: port2 }, transferList: [port2] });
    let answered = false;
    worker.once('message', (answer: Answer) => {
      answered = true;
      if (!answer.ok) {
        void worker.terminate();
        reject(answer.issues !== undefined ? new ConfigError(file, answer.issues) : new Error(answer.message));
        return;
      }
      // Every part was posted before the answer, so all of them are waiting on the port now.
      void (async () => {
        for (let part = receiveMessageOnPort(parts); part !== undefined; part = receiveMessageOnPort(parts)) {
          Object.assign(answer.config.models, (part.message as { models: Config['models'] }).models);
          await new Promise((r) => setImmediate(r));
        }
        void worker.terminate();
        resolve(answer.config);
      })();
    });
    worker.once('error', (err) => { answered = true; reject(err); });
    worker.once('exit', (code) => { if (!answered) reject(new Error(`the config reader exited (${code}) without an answer`)); });
  }).finally(() => parts.close());
}

if (!isMainThread && parentPort !== null && (workerData as { file?: unknown } | null)?.file !== undefined) {
  const { file, env, parts } = workerData as { file: string; env: Record<string, string | undefined>; parts: MessagePort };
  let answer: Answer;
  try {
    const config = loadConfigFile(file, env);
    const names = Object.keys(config.models);
    for (let i = 0; i < names.length; i += modelsPerMessage) {
      const models: Config['models'] = {};
      for (const name of names.slice(i, i + modelsPerMessage)) models[name] = config.models[name]!;
      parts.postMessage({ models });
    }
    // The models' place in the config is kept (its keys keep their order); they follow on `parts`.
    answer = { ok: true, config: { ...config, models: {} } };
  } catch (err) {
    answer = { ok: false, message: (err as Error).message, ...(err instanceof ConfigError ? { issues: err.issues } : {}) };
  }
  parentPort.postMessage(answer);
}
