// gateway/config-worker.ts: a reload reads its config on a worker thread and gets exactly what
// loadConfigFile gives on the main thread, or the same ConfigError, file:line:col included.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config/load.ts';
import { loadOffThread } from '../../src/gateway/config-worker.ts';
import { loadConfigFile } from '../../src/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-config-worker-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test('a valid file gives the same config as on the main thread, environment included', async () => {
  const path = file('ok.yaml', `
server: { port: "\${PORT:-8081}" }
backends: { b: { type: http, url: "http://127.0.0.1:1" } }
models: { m: { timeoutMs: 2s, targets: [ { backend: b, weight: "\${W}" } ] } }
`);
  const env = { W: '7' };
  assert.deepEqual(await loadOffThread(path, env), loadConfigFile(path, env));
  assert.equal((await loadOffThread(path, env)).models.m!.targets[0]!.weight, 7);
});

test('an invalid file rejects with the ConfigError the main thread would throw', async () => {
  const path = file('bad.yaml', `backends: { b: { type: http, url: "http://127.0.0.1:1" } }
models:
  m: { targets: [ { backend: nope } ] }
`);
  const err = await loadOffThread(path, {}).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError, String(err));
  assert.match(err.message, /bad\.yaml:3:\d+: models\.m\.targets\.0\.backend: unknown backend "nope"/);
  assert.throws(() => loadConfigFile(path, {}), (e: Error) => e.message === err.message);
});

test('a missing file rejects naming it', async () => {
  const err = await loadOffThread(join(dir, 'missing.yaml'), {}).catch((e: unknown) => e);
  assert.ok(err instanceof ConfigError);
  assert.match(err.message, /missing\.yaml.*cannot read the file/);
});

test('a config of many models comes back whole, its models in file order, though they cross in several messages', async () => {
  const models = Array.from({ length: 2_500 }, (_, i) => `  m${2_500 - i}: { timeoutMs: ${i + 1}, targets: [ { backend: b } ] }`).join('\n');
  const path = file('many.yaml', `version: many\nbackends: { b: { type: http, url: "http://127.0.0.1:1" } }\nmodels:\n${models}\ntracing: {}\n`);
  const off = await loadOffThread(path, {});
  const on = loadConfigFile(path, {});
  assert.deepEqual(off, on);
  assert.deepEqual(Object.keys(off.models), Object.keys(on.models));
  assert.deepEqual(Object.keys(off), Object.keys(on), 'the config keeps its keys\' order, models in its place');
  assert.equal(off.models.m1!.timeoutMs, 2_500);
});
