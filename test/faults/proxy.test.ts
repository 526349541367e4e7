// Wire-level faults between the gateway and a healthy backend, through the TCP fault proxy:
// connections cut, delayed past the deadline, throttled, blackholed. Every client request gets a
// definite JSON answer by its deadline + 1 s, aborted backend calls close their sockets, and the
// gateway serves again once the wire is healthy.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { startFaultBackend, type FaultBackend } from '../support/fault-backend.ts';
import { startFaultProxy, type FaultProxy, type ProxyMode } from '../support/fault-proxy.ts';
import { closeLoadAgent, fire, send, summary, waitFor } from './load.ts';

let backend: FaultBackend;
let proxy: FaultProxy;
let gw: RunningGateway;
const concurrency = 8;

before(async () => {
  backend = await startFaultBackend();
  proxy = await startFaultProxy(backend.port);
  gw = await startGateway(`
server: { healthIntervalMs: 250 }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends: { a: { type: http, url: "${proxy.url}" } }
models:
  m:
    timeoutMs: 1000
    breaker: { volumeThreshold: 10, errorThresholdPercentage: 50, resetTimeoutMs: 500 }
    retry: { attempts: 1 }
    targets: [ { backend: a, name: a } ]
`);
});

after(async () => {
  await gw?.stop();
  await proxy?.close();
  await backend?.close();
  await closeLoadAgent();
});

const faults: Array<{ mode: ProxyMode; codes: string[] }> = [
  { mode: { kind: 'cut' }, codes: ['backend_unreachable'] },
  { mode: { kind: 'delay', ms: 1500 }, codes: ['deadline_exceeded'] },
  { mode: { kind: 'throttle', bytesPerSecond: 20 }, codes: ['deadline_exceeded'] },
  { mode: { kind: 'blackhole' }, codes: ['deadline_exceeded'] },
];

for (const fault of faults) {
  test(`wire fault "${fault.mode.kind}": definite answers, sockets closed, recovery`, async (t) => {
    assert.equal((await send(`${gw.url}/predict`, 2000)).status, 200, 'healthy before the fault');
    proxy.setMode(fault.mode);
    const outcomes = await fire(`${gw.url}/predict`, 40, concurrency, 2000);
    const s = JSON.stringify(summary(outcomes));
    t.diagnostic(s);
    const allowed = [...fault.codes, 'circuit_open', 'backend_unavailable'];
    for (const o of outcomes) {
      assert.ok(!o.hang && o.transport === undefined, `no answer by deadline + 1 s: ${s}`);
      assert.ok(o.code !== undefined && allowed.includes(o.code), `unexpected ${o.status} ${o.code}: ${s}`);
    }
    proxy.setMode({ kind: 'pass' });
    assert.ok(await waitFor(async () => (await send(`${gw.url}/predict`, 2000)).status === 200, 4000), 'serves again');
    // Calls aborted at the deadline closed their upstream sockets instead of leaving them open.
    assert.ok(await waitFor(async () => proxy.connections() <= concurrency, 3000), `${proxy.connections()} upstream connections left`);
  });
}

test('the gateway process is still up', () => {
  assert.equal(gw.process.exitCode, null);
});
