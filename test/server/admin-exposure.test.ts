// admin-exposure.test.ts — through the real gateway: /metrics honours adminToken (with
// adminPort "same" it would otherwise be public), and an admin port listening off loopback
// without a token is warned about loudly at start.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const token = 't'.repeat(32);
const running: RunningGateway[] = [];
after(async () => { await Promise.all(running.map((g) => g.stop())); });

const models = `
backends: { b: { type: http, url: "http://127.0.0.1:9" } }
models: { m: { targets: [ { backend: b } ] } }
`;

test('with adminToken, /metrics on the platform port (adminPort: same) needs the token', async () => {
  const gw = await startGateway(`server: { adminPort: same, adminToken: "\${ADMIN_TOKEN}" }\n${models}`, { env: { ADMIN_TOKEN: token }, waitReady: false });
  running.push(gw);
  const open = await fetch(`${gw.url}/metrics`);
  assert.equal(open.status, 401);
  assert.equal(((await open.json()) as { code: string }).code, 'unauthorized');
  assert.equal(open.headers.get('www-authenticate'), 'Bearer');
  const ok = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /infergate_requests_total/);
  assert.doesNotMatch(gw.logs(), /admin-exposed/, 'a token set: no warning');
});

test('an admin port on 0.0.0.0 without adminToken logs a loud warning at start; on loopback it does not', async () => {
  const exposed = await startGateway(`server: { adminHost: 0.0.0.0 }\n${models}`, { waitReady: false });
  running.push(exposed);
  const line = JSON.parse(await exposed.waitForLog(/admin-exposed/, 10_000)) as { severity: string; message: string; adminAddress: string };
  assert.equal(line.severity, 'WARNING');
  assert.match(line.message, /without server\.adminToken/);
  assert.match(line.adminAddress, /^0\.0\.0\.0:\d+$/);
  const local = await startGateway(`server: { adminHost: 127.0.0.1 }\n${models}`, { waitReady: false });
  running.push(local);
  await local.waitForLog(/"message":"listening"/);
  assert.doesNotMatch(local.logs(), /admin-exposed/);
});
