// The Vertex endpoint type through the real gateway: the frontend's timeoutMs (the endpoint's
// inference timeout) bounds each call even when the model's own timeoutMs is longer, with a 504
// that names the model, before Vertex would give the call up; `infergate check` refuses a timeout
// the endpoint type does not allow; config/vertex.yaml makes the type a one-line choice.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startFaultBackend, type FaultBackend } from '../support/fault-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const run = promisify(execFile);

async function check(file: string, env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['src/main.ts', 'check', file], { env: { ...process.env, ...env } });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('Vertex endpoint type', () => {
  let slow: FaultBackend;
  let gw: RunningGateway;
  const dir = mkdtempSync(join(tmpdir(), 'vertex-endpoint-'));
  before(async () => {
    slow = await startFaultBackend();
    await slow.setMode({ kind: 'ok', delayMs: 8000 });
    gw = await startGateway(`
frontends: { vertex: { model: m, endpoint: shared, timeoutMs: 2s } }
backends: { slow: { type: http, url: "${slow.url}" } }
models: { m: { timeoutMs: 30s, targets: [ { backend: slow } ] } }
`);
  });
  after(async () => {
    await gw?.stop();
    await slow?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 504 inside the endpoint\'s timeout when the model\'s own is longer', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances":[[1]]}' });
    assert.equal(res.status, 504);
    const doc = await res.json() as { code: string; error: string };
    assert.equal(doc.code, 'deadline_exceeded');
    assert.match(doc.error, /no answer within 1000 ms for model "m"/);
  });

  it('is refused by check with a timeout the endpoint type does not allow', async () => {
    const file = join(dir, 'long.yaml');
    writeFileSync(file, 'frontends: { vertex: { model: m, endpoint: shared, timeoutMs: 90s } }\nbackends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels: { m: { targets: [ { backend: b } ] } }\n');
    const { code, output } = await check(file);
    assert.equal(code, 1, output);
    assert.match(output, /frontends\.vertex\.timeoutMs: 90000 ms is longer than a shared endpoint allows \(60 s\)/);
  });

  it('is one line in config/vertex.yaml: dedicated by default, shared when asked, nothing else', async () => {
    for (const endpoint of ['dedicated', 'shared']) {
      const { code, output } = await check('config/vertex.yaml', { INFERGATE_VERTEX_ENDPOINT: endpoint });
      assert.equal(code, 0, output);
    }
    const wrong = await check('config/vertex.yaml', { INFERGATE_VERTEX_ENDPOINT: 'private' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.output, /frontends\.vertex\.endpoint/);
  });
});
