// config-worker.ts — reads and validates a config file on a worker thread, for reloads: YAML
// parsing of a large config takes seconds (the yaml library tokenises about 1 MB a second),
// and on the main thread it would stop every request and health answer meanwhile.

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { ConfigError, type ConfigIssue } from '../config/load.ts';
import { loadConfigFile, type Config } from '../schema.ts';

type Answer = { ok: true; config: Config } | { ok: false; message: string; issues?: ConfigIssue[] };

/** loadOffThread loads `file` as loadConfigFile does, on a worker thread; throws ConfigError. */
export function loadOffThread(file: string, env: Record<string, string | undefined> = process.env): Promise<Config> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { file, env } });
    let answered = false;
    worker.once('message', (answer: Answer) => {
      answered = true;
      if (answer.ok) resolve(answer.config);
      else reject(answer.issues !== undefined ? new ConfigError(file, answer.issues) : new Error(answer.message));
      void worker.terminate();
    });
    worker.once('error', (err) => { answered = true; reject(err); });
    worker.once('exit', (code) => { if (!answered) reject(new Error(`the config reader exited (${code}) without an answer`)); });
  });
}

if (!isMainThread && parentPort !== null && (workerData as { file?: unknown } | null)?.file !== undefined) {
  const { file, env } = workerData as { file: string; env: Record<string, string | undefined> };
  let answer: Answer;
  try {
    answer = { ok: true, config: loadConfigFile(file, env) };
  } catch (err) {
    answer = { ok: false, message: (err as Error).message, ...(err instanceof ConfigError ? { issues: err.issues } : {}) };
  }
  parentPort.postMessage(answer);
}
