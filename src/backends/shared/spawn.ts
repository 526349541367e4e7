// spawn.ts — starts and supervises a backend's model-server process (one-container BYOC: the
// gateway is the entrypoint and runs Triton or a Flask app beside itself). Ready only once the
// backend's own health check passes; restarted with exponential backoff when it exits, and
// reported not-ready meanwhile; its output goes into the gateway log; never outlives the gateway.
// `{port}` in the command or env is the port this process listens on: the gateway picks a free
// one for each process a reload starts, so the new one starts beside the old one.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { GatewayError } from '../../errors.ts';
import { processRestarts } from '../../observe/metrics.ts';
import { artifactVersion, fetchArtifact, type Fetched } from '../../storage/store.ts';
import type { Health } from '../../types.ts';
import type { SpawnConfig } from './spawn.schema.ts';

export { spawnSchema, type SpawnConfig } from './spawn.schema.ts';

/** portPlaceholder is what the gateway replaces with the process's port in command and env. */
export const portPlaceholder = '{port}';
/** repositoryPlaceholder is replaced with the local path of spawn.modelRepository in command and env. */
export const repositoryPlaceholder = '{modelRepository}';

/** usesPort says whether the command or env asks for the port ({port}). */
export function usesPort(config: SpawnConfig): boolean {
  return config.command.some((a) => a.includes(portPlaceholder)) || Object.values(config.env).some((v) => v.includes(portPlaceholder));
}

/** withPort is the config with {port} replaced by `port` in command and env. */
export function withPort(config: SpawnConfig, port: number): SpawnConfig {
  return withPlaceholder(config, portPlaceholder, String(port));
}

function withPlaceholder(config: SpawnConfig, placeholder: string, value: string): SpawnConfig {
  const fill = (s: string): string => s.replaceAll(placeholder, value);
  return {
    ...config,
    command: config.command.map(fill),
    env: Object.fromEntries(Object.entries(config.env).map(([k, v]) => [k, fill(v)])),
  };
}

/** HealthCheck is the backend's own probe of the server (e.g. GET /health). */
export type HealthCheck = (signal?: AbortSignal) => Promise<Health>;

// A process that stayed up this long ran fine: the next exit starts the backoff from the base again.
const stableMs = 10_000;
const pollMs = 250;
const maxLine = 16 * 1024;
const keptLines = 20;

/** ProcessSupervisor runs one child process for a backend and keeps it running until stop(). */
export class ProcessSupervisor {
  readonly name: string;
  #config: SpawnConfig;
  #check: HealthCheck;
  #log: Logger;
  #child: ChildProcess | undefined;
  #startedAt = 0;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #state: 'idle' | 'running' | 'waiting' | 'stopped' = 'idle';
  #reason = 'not started';
  #lastLines: string[] = [];
  #exited: Promise<void> = Promise.resolve();
  #spawnError: Error | undefined;
  #fetched: Fetched | undefined;
  readonly #killOnExit = (): void => this.#signal('SIGKILL');

  constructor(name: string, config: SpawnConfig, check: HealthCheck, log: Logger) {
    this.name = name;
    this.#config = config;
    this.#check = check;
    // The gateway hands backends a logger already bound to { backend }; bind it here otherwise.
    this.#log = 'backend' in log.bindings() ? log : log.child({ backend: name });
  }

  /** pid is the running child's process id, if any. */
  get pid(): number | undefined { return this.#state === 'running' ? this.#child?.pid : undefined; }

  /** start runs the process and resolves once the health check passes; throws backend_unavailable at readyTimeoutSeconds. */
  async start(): Promise<void> {
    if (this.#state !== 'idle' && this.#state !== 'stopped') return;
    this.#spawnError = undefined;
    if (this.#config.modelRepository !== undefined && this.#fetched === undefined) {
      this.#reason = `fetching model repository ${this.#config.modelRepository}`;
      this.#fetched = await fetchArtifact(this.#config.modelRepository, `backend "${this.name}"`, this.#log);
      this.#log.info({ modelRepository: this.#config.modelRepository, path: this.#fetched.path }, 'model repository ready; starting the backend process');
      this.#config = withPlaceholder(this.#config, repositoryPlaceholder, this.#fetched.path);
    }
    process.on('exit', this.#killOnExit);
    this.#launch();
    await new Promise((r) => setImmediate(r));
    const until = performance.now() + this.#config.readyTimeoutSeconds * 1000;
    let last = 'not checked yet';
    while (performance.now() < until) {
      if (this.#state === 'stopped') throw new GatewayError('backend_unavailable', `backend "${this.name}": stopped while starting`);
      const code = (this.#spawnError as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT' || code === 'EACCES') {
        await this.stop();
        throw new GatewayError('backend_unavailable',
          `backend "${this.name}": cannot run ${JSON.stringify(this.#config.command[0])} (${code}); check spawn.command and PATH`);
      }
      const health = await this.health(AbortSignal.timeout(Math.ceil(Math.min(5000, Math.max(1, until - performance.now())))));
      if (health.ready) {
        this.#log.info({ pid: this.pid }, 'backend process ready');
        return;
      }
      last = health.reason ?? 'not ready';
      await new Promise((r) => setTimeout(r, pollMs));
    }
    const output = this.#lastLines.length > 0 ? `; last output:\n${this.#lastLines.join('\n')}` : '';
    await this.stop();
    throw new GatewayError('backend_unavailable',
      `backend "${this.name}": ${this.#config.command.join(' ')} did not pass its health check within ` +
      `${this.#config.readyTimeoutSeconds} s (last: ${last})${output}`);
  }

  /** health is not-ready while the process is down or restarting, else the backend's own check. */
  async health(signal?: AbortSignal): Promise<Health> {
    if (this.#state !== 'running') return { ready: false, reason: this.#reason };
    try {
      return await this.#check(signal);
    } catch (err) {
      return { ready: false, reason: (err as Error).message };
    }
  }

  /** stop sends SIGTERM to the process group, waits up to stopGraceSeconds, then SIGKILL; no restart follows. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    this.#state = 'stopped';
    this.#reason = 'stopped';
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const child = this.#child;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      this.#signal('SIGTERM');
      const grace = setTimeout(() => {
        this.#log.warn({ pid: child.pid }, `backend process ignored SIGTERM for ${this.#config.stopGraceSeconds} s; sending SIGKILL`);
        this.#signal('SIGKILL');
      }, this.#config.stopGraceSeconds * 1000);
      await this.#exited;
      clearTimeout(grace);
    }
    process.off('exit', this.#killOnExit);
    this.#fetched?.release();
  }

  /** changed says whether spawn.modelRepository has a new generation at its source (a reload then restarts the process). */
  async changed(): Promise<boolean> {
    const fetched = this.#fetched;
    return fetched !== undefined && fetched.version !== '' && await artifactVersion(this.#config.modelRepository!) !== fetched.version;
  }

  #launch(): void {
    const [file, ...args] = this.#config.command;
    // detached: the child leads its own process group, so stop() reaches its workers too
    // (gunicorn, a shell wrapper) and a Ctrl-C on the terminal goes through the gateway's drain.
    const child = spawn(file!, args, {
      cwd: this.#config.cwd,
      env: { ...process.env, ...this.#config.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.#child = child;
    this.#startedAt = performance.now();
    // No pid: the spawn failed (ENOENT, EACCES); the 'error' event follows on the next tick.
    this.#state = child.pid === undefined ? 'waiting' : 'running';
    this.#reason = child.pid === undefined ? 'process failed to start' : 'process started; health check not passed yet';
    this.#forward(child.stdout!, 'stdout');
    this.#forward(child.stderr!, 'stderr');
    let done = false;
    let finish!: () => void;
    this.#exited = new Promise((resolve) => { finish = resolve; });
    const onEnd = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (done) return;
      done = true;
      finish();
      this.#onExit(child, code, signal, error);
    };
    child.once('error', (err) => {
      this.#spawnError = err;
      onEnd(null, null, err);
    });
    child.once('exit', (code, signal) => onEnd(code, signal));
    this.#log.info({ pid: child.pid, command: this.#config.command }, 'backend process started');
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, error?: Error): void {
    if (this.#child !== child) return;
    if (this.#state === 'stopped') {
      this.#log.info({ code, signal }, 'backend process stopped');
      return;
    }
    const uptime = performance.now() - this.#startedAt;
    this.#failures = uptime >= stableMs ? 1 : this.#failures + 1;
    const delay = Math.min(this.#config.maxRestartBackoffMs, this.#config.restartBackoffMs * 2 ** (this.#failures - 1));
    const how = error !== undefined ? `failed to start (${error.message})` : signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    this.#state = 'waiting';
    this.#reason = `process ${how}; restarting in ${delay} ms`;
    this.#log.warn({ code, signal, uptimeMs: Math.round(uptime), restartInMs: delay, restarts: this.#failures }, `backend process ${how}; restarting in ${delay} ms`);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#state !== 'waiting') return;
      processRestarts.inc({ backend: this.name });
      this.#launch();
    }, delay);
  }

  #forward(stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr'): void {
    let pending = '';
    const emit = (line: string): void => {
      if (line === '') return;
      this.#lastLines.push(line);
      if (this.#lastLines.length > keptLines) this.#lastLines.shift();
      this.#log.info({ stream: name }, line);
    };
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        emit(pending.slice(0, nl).replace(/\r$/, ''));
        pending = pending.slice(nl + 1);
      }
      // A process that never writes a newline must not grow this buffer without bound.
      if (pending.length > maxLine) {
        emit(pending);
        pending = '';
      }
    });
    stream.on('end', () => emit(pending));
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child?.pid;
    if (pid === undefined || this.#child!.exitCode !== null || this.#child!.signalCode !== null) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try { process.kill(pid, signal); } catch { /* already gone */ }
    }
  }
}
