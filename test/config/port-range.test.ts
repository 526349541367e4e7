// server.portRange (SageMaker's SAGEMAKER_SAFE_PORT_RANGE): the range as read and handed out, and
// through the real gateway process: with the range set and no adminPort, the admin port and a
// spawned backend's {port} (at start and after a reload) all lie in the range.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PortRange, portRangeSchema } from '../../src/config/port-range.ts';
import { parseConfig } from '../../src/schema.ts';
import { startGateway } from '../support/gateway.ts';

const server = fileURLToPath(new URL('../support/generation-server.ts', import.meta.url));

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

// A block of `size` ports free now on 127.0.0.1, somewhere in 20000-59999.
async function freeBlock(size: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const low = 20000 + Math.floor(Math.random() * 40000);
    const free = await Promise.all(Array.from({ length: size }, (_, i) => isFree(low + i)));
    if (free.every(Boolean)) return low;
  }
  throw new Error('no free block of ports found');
}

describe('PortRange', () => {
  it('reads LOW-HIGH, takes "" as none, and refuses a range that is no range', () => {
    assert.equal(portRangeSchema.parse('9000-9999'), '9000-9999');
    assert.equal(portRangeSchema.parse(''), undefined);
    assert.equal(portRangeSchema.parse(undefined), undefined);
    for (const bad of ['9999-9000', '0-10', '9000', '9000-70000', 'a-b']) assert.equal(portRangeSchema.safeParse(bad).success, false, bad);
  });

  it('hands the ports out in order, round and round, and skips a taken one when asked for a free one', async () => {
    const r = new PortRange('7000-7002');
    assert.deepEqual([r.take(), r.take(), r.take(), r.take()], [7000, 7001, 7002, 7000]);
    const low = await freeBlock(3);
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(low, '127.0.0.1', () => resolve()));
    try {
      const range = new PortRange(`${low}-${low + 2}`);
      assert.equal(await range.takeFree('127.0.0.1'), low + 1);
    } finally {
      busy.close();
    }
  });

  it('comes from SAGEMAKER_SAFE_PORT_RANGE in config/sagemaker.yaml and config/default.yaml, and is absent without it', () => {
    for (const file of ['config/sagemaker.yaml', 'config/default.yaml']) {
      const text = readFileSync(file, 'utf8');
      assert.equal(parseConfig(text, file, { SAGEMAKER_SAFE_PORT_RANGE: '23000-23999' }).server.portRange, '23000-23999', file);
      const plain = parseConfig(text, file, {}).server;
      assert.equal(plain.portRange, undefined, file);
      assert.equal(plain.adminPort, undefined, `${file}: 9090 when there is no range`);
    }
  });

  it('is refused at load with the key path when malformed', () => {
    assert.throws(() => parseConfig('server: { portRange: "20-10" }\nfrontends: {}\nbackends: {}\nmodels: {}\n', 'x.yaml'), /server\.portRange[\s\S]*LOW ≤ HIGH/);
  });
});

describe('a gateway with a port range', () => {
  it('takes its admin port and each spawned process\'s {port} from the range, at start and on reload', async (t) => {
    const low = await freeBlock(12);
    const range = `${low}-${low + 11}`;
    const yaml = (gen: number): string => `
server: { portRange: "\${SAFE_RANGE:-}", healthIntervalMs: 200, drainDelaySeconds: 0 }
frontends: { vertex: { model: m, predictRoute: /predict, healthRoute: /health } }
backends:
  be:
    type: http
    url: "http://127.0.0.1:8000"
    spawn:
      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(server)}, "{port}"]
      env: { GEN: "${gen}" }
      readyTimeoutSeconds: 30
models:
  m: { targets: [ { backend: be } ] }
`;
    const gw = await startGateway(yaml(1), { env: { SAFE_RANGE: range }, keepAdminPort: true });
    t.after(() => gw.stop());
    const inRange = (p: number): boolean => p >= low && p <= low + 11;
    assert.ok(inRange(gw.adminPort), `admin port ${gw.adminPort} is outside ${range}`);
    const backendPort = async (): Promise<number> => {
      const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { backends: { be: { endpoints: Record<string, unknown> } } };
      return Number(new URL(Object.keys(status.backends.be.endpoints)[0]!).port);
    };
    const first = await backendPort();
    assert.ok(inRange(first) && first !== gw.adminPort, `backend port ${first}, admin ${gw.adminPort}, range ${range}`);
    const predict = async (): Promise<unknown> => (await (await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances":[[1]]}' })).json());
    assert.deepEqual(await predict(), { predictions: ['gen1'] });

    gw.writeConfig(yaml(2));
    const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.text());
    const second = await backendPort();
    assert.ok(inRange(second) && second !== first && second !== gw.adminPort, `reloaded backend port ${second}, range ${range}`);
    assert.deepEqual(await predict(), { predictions: ['gen2'] });
  });
});
