// gateway/plugins.ts, through the real gateway process: only the backends and frontends a config
// names are imported (the registries hold their schemas, and import each implementation when a
// config uses it), at start and on a reload that adds one. What the process loaded is recorded
// by a preloaded hook (test/support/record-imports.ts) and read once it has exited.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startFakeTfServing } from '../support/fake-tfserving.ts';
import { startGateway } from '../support/gateway.ts';

const recorder = fileURLToPath(new URL('../support/record-imports.ts', import.meta.url));
const repository = fileURLToPath(new URL('../../backends/onnx', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'infergate-imports-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;
async function importsOf(yaml: string, during: (gw: Awaited<ReturnType<typeof startGateway>>) => Promise<void> = async () => {}): Promise<string[]> {
  const file = join(dir, `imports-${runs++}.txt`);
  const gw = await startGateway(yaml, { env: { NODE_OPTIONS: `--import ${recorder}`, RECORD_IMPORTS_FILE: file } });
  try {
    await during(gw);
  } finally {
    assert.equal(await gw.stop(), 0);
  }
  return readFileSync(file, 'utf8').trim().split('\n');
}

const has = (urls: string[], tail: string): boolean => urls.some((u) => u.endsWith(tail) || u.includes(`/node_modules/${tail}/`));

const iris = `
frontends: { vertex: { model: iris, predictRoute: /predict, healthRoute: /health }, kserve: {} }
backends: { local: { type: onnx, modelRepository: "${repository}" } }
models: { iris: { targets: [ { backend: local } ] } }
`;

test('an onnx config with vertex and kserve imports those, and no other backend, frontend or client library', async () => {
  const urls = await importsOf(iris, async (gw) => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] }) });
    assert.equal(res.status, 200);
  });
  for (const used of ['src/backends/onnx/onnx.ts', 'src/frontends/vertex.ts', 'src/frontends/kserve-v2.ts', 'src/frontends/kserve-v1.ts']) {
    assert.ok(has(urls, used), `${used} was not imported`);
  }
  for (const unused of [
    'src/backends/http.ts', 'src/backends/triton.ts', 'src/backends/triton-grpc.ts', 'src/backends/tfserving.ts', 'src/backends/torchserve.ts',
    'src/backends/openai.ts', 'src/backends/passthrough.ts', 'src/backends/shared/link.ts',
    'src/frontends/grpc.ts', 'src/frontends/openai.ts', 'src/frontends/sagemaker.ts', 'src/frontends/oci.ts',
    '@grpc/grpc-js', 'undici', 'yaml',
  ]) assert.ok(!has(urls, unused), `${unused} was imported`);
  // Each schema is still there: validation needs every type's.
  assert.ok(has(urls, 'src/backends/triton.schema.ts') && has(urls, 'src/frontends/grpc.schema.ts'));
});

test('a reload that adds a tfserving backend imports it then, and the new model answers', async () => {
  const tf = await startFakeTfServing();
  after(() => tf.close());
  const withTf = `${iris.replace('backends: {', `backends: { tf: { type: tfserving, url: "${tf.url}" },`)
    .replace('models: {', 'models: { linear: { targets: [ { backend: tf } ] },')}`;
  const urls = await importsOf(iris, async (gw) => {
    gw.writeConfig(withTf);
    const res = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    const answer = await fetch(`${gw.url}/v1/models/linear:predict`, { method: 'POST', body: JSON.stringify({ instances: [[1, 2, 3, 4]] }) });
    assert.equal(answer.status, 200, await answer.text());
  });
  assert.ok(has(urls, 'src/backends/tfserving.ts'), 'the reload did not import the tfserving backend');
  assert.ok(!has(urls, 'src/backends/triton.ts'));
});
