// gateway.ts (test support) — starts the real gateway as a child process from YAML text, on
// free ports of 127.0.0.1, and stops it. The ports come from the gateway's own "listening" log line.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { linesWithRepeatedKeys } from './json-keys.ts';

const mainFile = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface RunningGateway {
  url: string;
  adminUrl: string;
  port: number;
  adminPort: number;
  /** The gRPC port, when the config has frontends.grpc. */
  grpcPort?: number;
  process: ChildProcess;
  configFile: string;
  /** Everything the gateway wrote to stdout and stderr so far. */
  logs(): string;
  /** Resolves when the gateway logs a line whose message matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends SIGTERM and resolves with the exit code (SIGKILL after timeoutMs). */
  stop(timeoutMs?: number): Promise<number | null>;
  /** Rewrites the config file (for reload tests). */
  writeConfig(yaml: string): void;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Wait for the `started` line (default true). The gateway may not be ready yet then (a transform module still loading, a backend down): a test that needs it ready waits on a health route. */
  waitReady?: boolean;
  args?: string[];
  timeoutMs?: number;
  /** Leave server.adminPort as the YAML has it, absent included (default: 0 when absent). */
  keepAdminPort?: boolean;
}

/**
 * startGateway writes the YAML to a temp file and runs `node src/main.ts serve --config FILE`.
 * `server.port` and `server.adminPort` default to 0 (free ports) unless the YAML sets them;
 * the host is forced to 127.0.0.1.
 */
export async function startGateway(yaml: string, options: StartOptions = {}): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-test-'));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, withTestServer(yaml, options.keepAdminPort === true));
  return launch(configFile, options, () => rmSync(dir, { recursive: true, force: true }));
}

let besideCount = 0;

// Every gateway a test file starts writes its output here; once the file's tests are done, a JSON
// line that carries a key twice fails the file (readers disagree on which copy counts).
// (Only under the test runner: a benchmark that starts gateways through this file prints JSON.)
const outputs: Array<() => string> = [];
if (process.env.NODE_TEST_CONTEXT !== undefined) after(() => {
  const bad = outputs.flatMap((output) => linesWithRepeatedKeys(output()));
  if (bad.length > 0) {
    throw new Error(`gateway log lines repeat keys:\n${bad.map((b) => `${b.keys.join(', ')} in ${b.line}`).join('\n')}`);
  }
});

/**
 * startGatewayFromFile runs a config file as it is (an example's), but on free ports of 127.0.0.1:
 * the copy withTestServer makes is written beside the original, so the paths in it that are
 * relative to the config file's folder (a transform's files) resolve as they would for the
 * original. Its server listens on free ports whatever the file says. The copy is a hidden file,
 * removed on stop.
 */
export async function startGatewayFromFile(file: string, options: StartOptions = {}): Promise<RunningGateway> {
  const configFile = join(dirname(file), `.${basename(file)}.test-${process.pid}-${besideCount++}.yaml`);
  // The example's own port (${AIP_HTTP_PORT:-8080}) gives way to free ones.
  const doc = (parse(readFileSync(file, 'utf8')) ?? {}) as { server?: Record<string, unknown> };
  writeFileSync(configFile, withTestServer(stringify({ ...doc, server: { ...doc.server, port: 0, adminPort: 0 } })));
  return launch(configFile, options, () => rmSync(configFile, { force: true }));
}

async function launch(configFile: string, options: StartOptions, cleanup: () => void): Promise<RunningGateway> {
  const child = spawn(process.execPath, [mainFile, 'serve', '--config', configFile, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  outputs.push(() => output);
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onText = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const w of [...waiters]) {
      const line = output.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onText);
  child.stderr!.on('data', onText);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (pattern: RegExp, timeoutMs = 20_000): Promise<string> => {
    const line = output.split('\n').find((l) => pattern.test(l));
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gateway did not log ${pattern} within ${timeoutMs} ms; output:\n${output}`)), timeoutMs);
      waiters.push({ pattern, resolve: (l) => { clearTimeout(timer); resolve(l); } });
      void exited.then((code) => { clearTimeout(timer); reject(new Error(`gateway exited with ${code} before logging ${pattern}; output:\n${output}`)); });
    });
  };

  const stop = async (timeoutMs = 30_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      cleanup();
      return code;
    }
    cleanup();
    return child.exitCode;
  };

  try {
    const listening = JSON.parse(await waitForLog(/"message":"listening"/, options.timeoutMs ?? 30_000)) as { port: number; adminPort: number; grpcPort?: number };
    const url = `http://127.0.0.1:${listening.port}`;
    const adminUrl = `http://127.0.0.1:${listening.adminPort}`;
    if (options.waitReady !== false) await waitForLog(/"message":"started"/, options.timeoutMs ?? 60_000);
    return {
      url, adminUrl, port: listening.port, adminPort: listening.adminPort, process: child, configFile,
      ...(listening.grpcPort === undefined ? {} : { grpcPort: listening.grpcPort }),
      logs: () => output, waitForLog, stop, writeConfig: (text) => writeFileSync(configFile, withTestServer(text, options.keepAdminPort === true)),
    };
  } catch (err) {
    await stop(2000);
    throw err;
  }
}

/** withTestServer sets server.host to 127.0.0.1 and port/adminPort to 0 unless the YAML sets them. */
export function withTestServer(yaml: string, keepAdminPort = false): string {
  const doc = (parse(yaml) ?? {}) as { server?: Record<string, unknown> };
  const server = { ...doc.server };
  server.host ??= '127.0.0.1';
  server.port ??= 0;
  if (!('adminPort' in server) && !keepAdminPort) server.adminPort = 0;
  // The launcher reads the "listening" and "started" lines, which are logged at info.
  if (server.logLevel === undefined || ['warn', 'error', 'fatal', 'silent'].includes(String(server.logLevel))) server.logLevel = 'info';
  return stringify({ ...doc, server });
}
