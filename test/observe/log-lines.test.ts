// The real gateway's own log lines carry each key once: the ONNX backend's "model loaded" line
// used to write `"backend":"local","backend":"local"`. (Every test that starts a gateway through
// test/support/gateway.ts also fails on such a line; this one names the line that did it.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { linesWithRepeatedKeys, repeatedKeys } from '../support/json-keys.ts';

describe('gateway log lines', () => {
  let gw: RunningGateway;
  before(async () => {
    gw = await startGateway(`
server: { logLevel: debug }
frontends: { kserve: {} }
backends: { local: { type: onnx, modelRepository: backends/onnx } }
models:
  iris: { targets: [ { backend: local, model: iris, weight: 1 }, { backend: local, model: iris, weight: 1, name: second } ] }
`);
  });
  after(async () => { await gw?.stop(); });

  it('writes the ONNX "model loaded" line with one backend key', async () => {
    const line = await gw.waitForLog(/onnx model iris\/1 loaded/);
    assert.deepEqual(repeatedKeys(line), []);
    const doc = JSON.parse(line) as Record<string, unknown>;
    assert.equal(doc.backend, 'local');
    assert.equal(doc.model, 'iris');
  });

  it('writes no line with a repeated key while serving, failing or reloading', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] });
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/v2/models/iris/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, 200);
    }
    const bad = await fetch(`${gw.url}/v2/models/iris/infer`, { method: 'POST', body: '{"inputs": 3}', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    await bad.text();
    const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    assert.equal(reload.status, 200);
    await gw.waitForLog(/config reloaded/);
    const lines = gw.logs().split('\n').filter((l) => l.startsWith('{'));
    assert.ok(lines.length > 8, `expected the gateway's lines, got:\n${gw.logs()}`);
    assert.deepEqual(linesWithRepeatedKeys(gw.logs()), []);
  });
});
