// spawn.test.ts — the process supervisor against real child processes (node scripts): ready wait,
// crash → restart with growing backoff and not-ready meanwhile, output forwarded to the log,
// SIGTERM on stop reaching the child and its process group, SIGKILL after the grace.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ProcessSupervisor, spawnSchema, usesPort, withPort, type SpawnConfig } from '../../../src/backends/shared/spawn.ts';
import { GatewayError } from '../../../src/errors.ts';
import { createLogger } from '../../../src/observe/log.ts';
import { registry } from '../../../src/observe/metrics.ts';
import type { Health } from '../../../src/types.ts';
import { freePort } from '../../support/ports.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-spawn-'));
const supervisors: ProcessSupervisor[] = [];
after(async () => {
  await Promise.allSettled(supervisors.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

// A model server stand-in: listens on PORT after DELAY ms, answers /health, prints a line on each
// stream, records SIGTERM in TERM_FILE (or ignores it with IGNORE_TERM), may start a grandchild.
const childScript = `
const http = require('node:http'); const fs = require('node:fs'); const cp = require('node:child_process');
const env = process.env;
console.log('hello from stdout'); console.error('hello from stderr');
process.stdout.write('partial line without newline');
if (env.GRANDCHILD_FILE) {
  const g = cp.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  fs.writeFileSync(env.GRANDCHILD_FILE, String(g.pid));
}
process.on('SIGTERM', () => {
  if (env.TERM_FILE) fs.writeFileSync(env.TERM_FILE, 'SIGTERM');
  if (!env.IGNORE_TERM) process.exit(0);
});
setTimeout(() => http.createServer((q, s) => s.end('ok')).listen(Number(env.PORT), '127.0.0.1'), Number(env.DELAY || 0));
setInterval(() => {}, 1000);
`;

function config(overrides: Partial<SpawnConfig> & { env?: Record<string, string> }): SpawnConfig {
  return spawnSchema.parse({ command: [process.execPath, '-e', childScript], readyTimeoutSeconds: 20, ...overrides });
}

function healthOf(port: number) {
  return async (signal?: AbortSignal): Promise<Health> => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal });
      await res.arrayBuffer();
      return res.ok ? { ready: true } : { ready: false, reason: `status ${res.status}` };
    } catch (err) {
      return { ready: false, reason: (err as Error).message };
    }
  };
}

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => { text += c.toString(); });
  return {
    log: createLogger('info', stream),
    lines: (): Array<Record<string, unknown>> => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

async function restartCount(backend: string): Promise<number> {
  const metric = await registry.getSingleMetric('infergate_backend_process_restarts_total')!.get();
  return metric.values.find((v) => v.labels.backend === backend)?.value ?? 0;
}

describe('spawnSchema', () => {
  test('fills defaults and refuses an empty command', () => {
    const c = spawnSchema.parse({ command: ['gunicorn', 'app:app'] });
    assert.equal(c.readyTimeoutSeconds, 120);
    assert.equal(c.restartBackoffMs, 1000);
    assert.deepEqual(c.env, {});
    assert.equal(spawnSchema.safeParse({ command: [] }).success, false);
    assert.equal(spawnSchema.safeParse({ command: ['x'], restart: true }).success, false);
    assert.equal(spawnSchema.parse({ command: ['x'], restartBackoffMs: '250ms' }).restartBackoffMs, 250);
  });

  test('{port} in the command or env is found and filled in everywhere; nothing else changes', () => {
    const plain = spawnSchema.parse({ command: ['gunicorn', '-b', '127.0.0.1:5000', 'app:app'], env: { A: '1' } });
    assert.equal(usesPort(plain), false);
    const c = spawnSchema.parse({ command: ['gunicorn', '-b', '127.0.0.1:{port}', 'app:app'], env: { PORT: '{port}', B: 'x{port}y{port}' }, cwd: 'backends/flask' });
    assert.equal(usesPort(c), true);
    assert.equal(usesPort(spawnSchema.parse({ command: ['tritonserver'], env: { HTTP_PORT: '{port}' } })), true);
    const filled = withPort(c, 41234);
    assert.deepEqual(filled.command, ['gunicorn', '-b', '127.0.0.1:41234', 'app:app']);
    assert.deepEqual(filled.env, { PORT: '41234', B: 'x41234y41234' });
    assert.equal(filled.cwd, 'backends/flask');
    assert.equal(usesPort(filled), false);
    assert.deepEqual(c.command, ['gunicorn', '-b', '127.0.0.1:{port}', 'app:app'], 'the config itself is not changed');
  });
});

describe('ProcessSupervisor', () => {
  test('start waits for the health check, forwards output lines with backend and stream, stop sends SIGTERM', async () => {
    const port = await freePort();
    const termFile = join(dir, 'term-1');
    const { log, lines } = capture();
    const sup = new ProcessSupervisor('model-a', config({ env: { PORT: String(port), DELAY: '300', TERM_FILE: termFile } }), healthOf(port), log);
    supervisors.push(sup);
    assert.equal((await sup.health()).ready, false);
    await sup.start();
    assert.equal((await sup.health()).ready, true);
    const pid = sup.pid!;
    assert.ok(alive(pid));
    await until('output lines', () => lines().some((l) => l.stream === 'stderr'));
    const out = lines().find((l) => l.message === 'hello from stdout')!;
    assert.equal(out.backend, 'model-a');
    assert.equal(out.stream, 'stdout');
    assert.ok(lines().some((l) => l.message === 'hello from stderr' && l.stream === 'stderr'));
    await sup.stop();
    assert.equal(readFileSync(termFile, 'utf8'), 'SIGTERM');
    assert.equal(alive(pid), false);
    assert.deepEqual(await sup.health(), { ready: false, reason: 'stopped' });
    // The partial last line is flushed when the stream ends.
    await until('partial line', () => lines().some((l) => l.message === 'partial line without newline'));
  });

  test('a crash is reported as not ready, restarted after the backoff, and counted', async () => {
    const port = await freePort();
    const { log, lines } = capture();
    const sup = new ProcessSupervisor('model-b', config({ env: { PORT: String(port) }, restartBackoffMs: 200 }), healthOf(port), log);
    supervisors.push(sup);
    await sup.start();
    const first = sup.pid!;
    const before = await restartCount('model-b');
    process.kill(first, 'SIGKILL');
    // Between the kill and the exit event the check itself fails; then the supervisor knows.
    await until('restart pending', async () => /killed by SIGKILL; restarting in 200 ms/.test((await sup.health()).reason ?? ''));
    assert.equal((await sup.health()).ready, false);
    await until('ready again', async () => (await sup.health()).ready);
    assert.notEqual(sup.pid, first);
    assert.equal(await restartCount('model-b'), before + 1);
    const warn = lines().find((l) => l.restartInMs !== undefined)!;
    assert.equal(warn.backend, 'model-b');
    assert.equal(warn.severity, 'WARNING');
    await sup.stop();
  });

  test('exits in a row double the backoff up to the cap; start fails at readyTimeout with the last output', async () => {
    const { log, lines } = capture();
    const cfg = spawnSchema.parse({
      command: [process.execPath, '-e', 'console.error("boom: no model file"); process.exit(3)'],
      readyTimeoutSeconds: 1.5, restartBackoffMs: 50, maxRestartBackoffMs: 200,
    });
    const sup = new ProcessSupervisor('model-c', cfg, healthOf(await freePort()), log);
    supervisors.push(sup);
    await assert.rejects(sup.start(), (err: unknown) => {
      assert.ok(err instanceof GatewayError, String(err));
      assert.equal(err.code, 'backend_unavailable');
      assert.match(err.message, /did not pass its health check within 1.5 s/);
      assert.match(err.message, /boom: no model file/);
      return true;
    });
    const delays = lines().filter((l) => l.restartInMs !== undefined).map((l) => l.restartInMs);
    assert.deepEqual(delays.slice(0, 4), [50, 100, 200, 200]);
    assert.match(String(lines().find((l) => l.restartInMs !== undefined)!.message), /exited with code 3/);
    // After a failed start nothing is left running or scheduled.
    const count = lines().length;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(lines().filter((l) => l.message === 'backend process started').length,
      lines().slice(0, count).filter((l) => l.message === 'backend process started').length);
  });

  test('a missing program fails start at once with a clear message', async () => {
    const { log } = capture();
    const sup = new ProcessSupervisor('model-d', spawnSchema.parse({ command: ['/nonexistent/tritonserver'] }), async () => ({ ready: true }), log);
    supervisors.push(sup);
    await assert.rejects(sup.start(), /cannot run "\/nonexistent\/tritonserver" \(ENOENT\)/);
  });

  test('stop reaches the whole process group and SIGKILLs a child that ignores SIGTERM', async () => {
    const port = await freePort();
    const termFile = join(dir, 'term-2');
    const grandFile = join(dir, 'grandchild');
    const { log, lines } = capture();
    const sup = new ProcessSupervisor('model-e', config({
      env: { PORT: String(port), TERM_FILE: termFile, IGNORE_TERM: '1', GRANDCHILD_FILE: grandFile }, stopGraceSeconds: 0.3,
    }), healthOf(port), log);
    supervisors.push(sup);
    await sup.start();
    const pid = sup.pid!;
    await until('grandchild', () => existsSync(grandFile) && readFileSync(grandFile, 'utf8') !== '');
    const grandchild = Number(readFileSync(grandFile, 'utf8'));
    assert.ok(alive(grandchild));
    await sup.stop();
    assert.equal(readFileSync(termFile, 'utf8'), 'SIGTERM');
    assert.equal(alive(pid), false);
    await until('grandchild gone', () => !alive(grandchild));
    assert.ok(lines().some((l) => /ignored SIGTERM/.test(String(l.message))));
  });
});
