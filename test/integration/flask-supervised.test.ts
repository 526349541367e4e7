// The supervised backend (issue 2 point 10) with the real Flask/gunicorn server: the gateway
// starts gunicorn itself from the http backend's `spawn` block, is ready only once Flask's
// health passes, logs gunicorn's lines with the backend's name, restarts it when it exits
// (not-ready meanwhile), and on SIGTERM stops it with no process left behind.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { flaskSpawnCommand } from '../support/flask.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';
import { waitFor } from '../support/wait-for.ts';

const setosa = [5.1, 3.5, 1.4, 0.2];
const virginica = [6.7, 3.0, 5.2, 2.3];
const json = { 'content-type': 'application/json' };

interface LogLine { message?: string; backend?: string; pid?: number; stream?: string; ready?: boolean }

function logLines(gw: RunningGateway): LogLine[] {
  return gw.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
}

/** gunicornPids gives the master pids the supervisor started and the worker pids gunicorn logged, in order. */
function gunicornPids(gw: RunningGateway): { masters: number[]; workers: number[] } {
  const lines = logLines(gw);
  const masters = lines.filter((l) => l.message === 'backend process started' && l.backend === 'flask').map((l) => l.pid!);
  const workers = lines.flatMap((l) => /Booting worker with pid: (\d+)/.exec(l.message ?? '')?.[1] ?? []).map(Number);
  return { masters, workers };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('supervised Flask (spawn)', () => {
  let gw: RunningGateway;
  let firstPing: number;
  before(async () => {
    const port = await freePort();
    const spawn = flaskSpawnCommand(port);
    // info level: gunicorn logs "Booting worker with pid: N", which the test needs and checks.
    spawn.env.IRIS_LOG_LEVEL = 'info';
    gw = await startGateway(`
server: { healthIntervalMs: 100, drainDelaySeconds: 0, drainSeconds: 5 }
frontends:
  sagemaker: { model: iris }
  kserve: {}
backends:
  flask:
    type: http
    url: "http://127.0.0.1:${port}"
    spawn: ${JSON.stringify({ ...spawn, restartBackoffMs: 200, stopGraceSeconds: 5 })}
models:
  iris: { targets: [ { backend: flask } ] }
`, { waitReady: false });
    // The gateway listens before gunicorn is up; readiness must say so.
    const ping = await fetch(`${gw.url}/ping`);
    await ping.arrayBuffer();
    firstPing = ping.status;
    await gw.waitForLog(/"message":"started"/, 60_000);
  });
  after(async () => {
    const { masters, workers } = gunicornPids(gw);
    await gw?.stop();
    // Never leave a gunicorn behind, even when a test failed before the SIGTERM test.
    for (const pid of [...masters, ...workers]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  test('not ready while gunicorn boots; ready only after Flask\'s health passed; then serves predictions', async () => {
    assert.equal(firstPing, 503, '/ping before gunicorn is up');
    const lines = logLines(gw);
    const healthy = lines.findIndex((l) => l.message === 'backend process ready' && l.backend === 'flask');
    const started = lines.findIndex((l) => l.message === 'started');
    assert.ok(healthy >= 0, 'the supervisor logged that Flask passed its health check');
    assert.ok(healthy < started, 'the gateway reported started only after Flask was healthy');
    assert.equal(lines[started]!.ready, true);
    const ping = await fetch(`${gw.url}/ping`);
    assert.equal(ping.status, 200);
    assert.equal(await ping.text(), '');
    const res = await fetch(`${gw.url}/invocations`, { method: 'POST', body: JSON.stringify({ instances: [setosa, virginica] }), headers: json });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: [0, 2] });
  });

  test('gunicorn\'s own output is in the gateway log, with the backend name', () => {
    const forwarded = logLines(gw).filter((l) => l.backend === 'flask' && l.stream !== undefined);
    assert.ok(forwarded.some((l) => /Starting gunicorn/.test(l.message ?? '')), `gunicorn start line forwarded; got ${JSON.stringify(forwarded)}`);
    assert.ok(forwarded.some((l) => /Booting worker with pid: \d+/.test(l.message ?? '')));
    const { masters, workers } = gunicornPids(gw);
    assert.equal(masters.length, 1);
    assert.ok(workers.length >= 1);
    assert.ok(alive(masters[0]!) && alive(workers[0]!));
  });

  test('gunicorn exits → not ready (503 JSON) → restarted by the supervisor → ready and serving again', async () => {
    const [master] = gunicornPids(gw).masters;
    process.kill(master!, 'SIGTERM');
    await waitFor(async () => (await fetch(`${gw.url}/ping`)).status === 503);
    const ready = await fetch(`${gw.url}/v2/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(Object.keys(await ready.json() as object).sort(), ['code', 'error']);
    await waitFor(async () => (await fetch(`${gw.url}/ping`)).status === 200, 60_000);
    const { masters } = gunicornPids(gw);
    assert.equal(masters.length, 2, 'a second gunicorn was started');
    assert.notEqual(masters[1], master);
    assert.ok(!alive(master!), 'the first gunicorn is gone');
    assert.match(gw.logs(), /backend process exited with code 0; restarting in \d+ ms/);
    const res = await fetch(`${gw.url}/invocations`, { method: 'POST', body: JSON.stringify({ instances: [virginica] }), headers: json });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { predictions: [2] });
  });

  test('SIGTERM to the gateway stops gunicorn and its workers, then exits 0: no orphan left', async () => {
    const { masters, workers } = gunicornPids(gw);
    const master = masters.at(-1)!;
    const worker = workers.at(-1)!;
    assert.ok(alive(master) && alive(worker), 'the running gunicorn master and worker');
    const code = await gw.stop();
    assert.equal(code, 0);
    assert.match(gw.logs(), /"message":"backend process stopped"/);
    // The supervisor waited for the master; its worker may need a moment longer to be reaped.
    await waitFor(async () => !alive(master) && !alive(worker), 10_000);
  });
});
