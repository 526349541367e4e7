// flask.ts (test support) — starts the iris sample server (backends/flask) under gunicorn on a
// free port of 127.0.0.1 and waits for /health; also gives the same command as a `spawn`
// block, so tests can let the gateway's supervisor start it instead.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.ts';

/** flaskDir is the folder of the sample server (cwd for gunicorn). */
export const flaskDir = fileURLToPath(new URL('../../backends/flask/', import.meta.url));

/** FlaskSpawn is a backend `spawn` block that starts the sample server. */
export interface FlaskSpawn {
  command: string[];
  cwd: string;
  env: Record<string, string>;
  readyTimeoutSeconds: number;
}

// The Debian gunicorn runs on /usr/bin/python3, which has flask and sklearn; a python3 found
// first on PATH (pyenv, venv) may not, so `python3 -m gunicorn` is only the fallback.
function gunicorn(): string[] {
  const onPath = (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, 'gunicorn')));
  if (onPath) return ['gunicorn'];
  return [existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', '-m', 'gunicorn'];
}

/** flaskSpawnCommand gives the spawn block that runs the sample server on 127.0.0.1:port. */
export function flaskSpawnCommand(port: number): FlaskSpawn {
  return {
    command: [...gunicorn(), '-c', 'gunicorn.conf.py', 'app:app'],
    cwd: flaskDir,
    env: { IRIS_BIND: `127.0.0.1:${port}`, IRIS_LOG_LEVEL: 'warning', PYTHONUNBUFFERED: '1' },
    readyTimeoutSeconds: 60,
  };
}

/** RunningFlask is a started sample server. */
export interface RunningFlask {
  url: string;
  port: number;
  /** Everything gunicorn wrote so far. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * startFlask starts gunicorn on a free port and resolves once GET /health answers 200 as the
 * iris server does. The port is free when picked, but another test's server may take it before
 * gunicorn binds: then gunicorn exits, or the other server answers, and a new port is tried.
 */
export async function startFlask(timeoutMs = 60_000): Promise<RunningFlask> {
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startFlaskOnce(timeoutMs);
    } catch (err) {
      lastError = err as Error;
      if (!/port taken/.test(lastError.message)) throw err;
    }
  }
  throw lastError!;
}

async function startFlaskOnce(timeoutMs: number): Promise<RunningFlask> {
  const port = await freePort();
  const cfg = flaskSpawnCommand(port);
  const child = spawn(cfg.command[0]!, cfg.command.slice(1), {
    cwd: cfg.cwd, env: { ...process.env, ...cfg.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let spawnError: Error | undefined;
  child.once('error', (err) => { spawnError = err; });
  const url = `http://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
  };

  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (spawnError !== undefined || child.exitCode !== null) {
      await stop();
      const taken = /address already in use/i.test(output) ? 'port taken: ' : '';
      throw new Error(`${taken}gunicorn did not start (${spawnError?.message ?? `exit ${child.exitCode}`}):\n${output}`);
    }
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
      const text = await res.text();
      if (res.ok && /"model":\s*"iris"/.test(text)) return { url, port, logs: () => output, stop };
      if (res.ok) { await stop(); throw new Error(`port taken: ${url}/health answered ${text.slice(0, 80)}, not the iris server`); }
    } catch (err) {
      if ((err as Error).message.startsWith('port taken')) throw err;
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`gunicorn did not answer /health within ${timeoutMs} ms:\n${output}`);
}
