// Transform modules behind the real gateway: user code on worker threads around the bundled
// iris model (ONNX backend), with the bad cases — a module that throws, hangs, crashes, returns
// the wrong shape, fails to load or is missing — each answered with a JSON error naming it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

const repo = fileURLToPath(new URL('../../backends/onnx', import.meta.url));
const contract = pathToFileURL(fileURLToPath(new URL('../../src/transform/contract.ts', import.meta.url))).href;
const mainFile = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const names = ['setosa', 'versicolor', 'virginica'];

const irisModule = `
import { badRequest } from '${contract}';
const features = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
export async function load(context) {
  await new Promise((r) => setTimeout(r, 50));
  context.state.names = context.options.names;
}
export function preprocess(request, context) {
  if (request.contentType === 'text/csv') {
    const rows = Buffer.from(request.body).toString().trim().split('\\n').map((l) => l.split(',').map(Number));
    return { instances: rows };
  }
  if (request.instances === undefined) throw context.badRequest('send {"instances": [records]} or text/csv');
  return { instances: request.instances.map((r, i) => features.map((f) => {
    if (typeof r[f] !== 'number') throw badRequest('record ' + i + ' lacks "' + f + '"');
    return r[f];
  })) };
}
export function postprocess(response, request, context) {
  if (request.headers['x-answer'] === 'bytes') return { body: 'classes=' + response.predictions.map((p) => p.label).join(','), contentType: 'text/plain' };
  return { predictions: response.predictions.map((p) => ({ class: context.state.names[Number(p.label)], probability: Math.max(...p.probabilities) })) };
}
`;

const misbehaving = `
export function preprocess(request) {
  const how = request.headers['x-how'];
  if (how === 'throw') throw new TypeError('cannot read the thing');
  if (how === 'hang') for (;;) {}
  if (how === 'crash') process.exit(3);
  if (how === 'shape') return 42;
  if (how === 'function') return { instances: [() => 1] };
  if (how === 'busy') { const end = Date.now() + 400; while (Date.now() < end) {} }
  return { instances: request.instances };
}
`;

const record = { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 };
const virginica = { sepal_length: 6.7, sepal_width: 3.0, petal_length: 5.2, petal_width: 2.3 };

describe('transform modules behind the gateway', () => {
  const dir = mkdtempSync(join(tmpdir(), 'transform-module-'));
  const files = {
    iris: join(dir, 'iris.ts'), bad: join(dir, 'bad.js'), failing: join(dir, 'failing.js'), reloaded: join(dir, 'reloaded.js'),
  };
  let gw: RunningGateway;
  const yaml = (): string => `
frontends: { kserve: {}, vertex: { model: iris } }
backends: { local: { type: onnx, modelRepository: ${repo} } }
models:
  iris:
    transform: { module: ${files.iris}, options: { names: ${JSON.stringify(names)} }, workers: 2 }
    targets: [ { backend: local } ]
  bad:
    timeoutMs: 1s
    transform: { module: ${files.bad}, workers: 1 }
    targets: [ { backend: local, model: iris } ]
  failing:
    transform: { module: ${files.failing}, workers: 1 }
    targets: [ { backend: local, model: iris } ]
  reloaded:
    transform: { module: ${files.reloaded}, workers: 1 }
    targets: [ { backend: local, model: iris } ]
`;
  before(async () => {
    writeFileSync(files.iris, irisModule);
    writeFileSync(files.bad, misbehaving);
    writeFileSync(files.failing, `export async function load() { throw new Error('assets.bin is missing'); }\nexport function preprocess(r) { return r; }\n`);
    writeFileSync(files.reloaded, `export function postprocess() { return { predictions: ['first'] }; }\n`);
    gw = await startGateway(yaml());
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/iris/ready`)).status === 200, 20_000);
    await waitFor(async () => (await fetch(`${gw.url}/v2/models/bad/ready`)).status === 200, 20_000);
  });
  after(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (model: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${gw.url}/v1/models/${model}:predict`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

  it('turns records into rows and names the class (preprocess, model, postprocess)', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: JSON.stringify({ instances: [record, virginica] }), headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    const doc = await res.json() as { predictions: Array<{ class: string; probability: number }> };
    assert.deepEqual(doc.predictions.map((p) => p.class), ['setosa', 'virginica']);
    assert.ok(doc.predictions.every((p) => p.probability > 0.5 && p.probability <= 1));
  });

  it('counts each step\'s time by model, step, phase and outcome in /metrics', async () => {
    await post('iris', { instances: [record] });
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(text, /infergate_transform_seconds_count\{model="iris",step="module [^"]*iris\.ts",phase="preprocess",outcome="ok"\} [1-9]/);
    assert.match(text, /infergate_transform_seconds_count\{model="iris",step="module [^"]*iris\.ts",phase="postprocess",outcome="ok"\} [1-9]/);
  });

  it('hands a body that is not rows (text/csv) to the module as bytes', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n', headers: { 'content-type': 'text/csv' } });
    assert.equal(res.status, 200);
    const doc = await res.json() as { predictions: Array<{ class: string }> };
    assert.deepEqual(doc.predictions.map((p) => p.class), ['setosa', 'virginica']);
  });

  it('writes an answer of bytes with the content type the module gave', async () => {
    const res = await post('iris', { instances: [record] }, { 'x-answer': 'bytes' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain');
    assert.equal(await res.text(), 'classes=0');
  });

  it('answers 400 naming the module and its message when it throws badRequest()', async () => {
    const res = await post('iris', { instances: [{ sepal_length: 1 }] });
    assert.equal(res.status, 400);
    const doc = await res.json() as { error: string; code: string };
    assert.equal(doc.code, 'bad_request');
    assert.match(doc.error, /module .*iris\.ts: record 0 lacks "sepal_width"/);
  });

  it('answers 500 transform_failed naming the module when it throws anything else', async () => {
    const res = await post('bad', { instances: [[1, 2, 3, 4]] }, { 'x-how': 'throw' });
    assert.equal(res.status, 500);
    const doc = await res.json() as { error: string; code: string };
    assert.equal(doc.code, 'transform_failed');
    assert.match(doc.error, /module .*bad\.js: preprocess threw TypeError: cannot read the thing/);
  });

  it('answers 500 when preprocess returns the wrong shape', async () => {
    const res = await post('bad', { instances: [[1, 2, 3, 4]] }, { 'x-how': 'shape' });
    assert.equal(res.status, 500);
    assert.match((await res.json() as { error: string }).error, /preprocess returned number 42; expected \{instances/);
  });

  it('answers 500 when preprocess returns what cannot cross threads (a function), and keeps serving', async () => {
    const res = await post('bad', { instances: [[1, 2, 3, 4]] }, { 'x-how': 'function' });
    assert.equal(res.status, 500);
    assert.match((await res.json() as { error: string }).error, /module .*bad\.js: preprocess threw DataCloneError/);
    assert.equal((await post('bad', { instances: [[5.1, 3.5, 1.4, 0.2]] })).status, 200);
  });

  it('cuts off a module that hangs at the deadline, and serves the next call on a fresh worker', async () => {
    const res = await post('bad', { instances: [[1, 2, 3, 4]] }, { 'x-how': 'hang' });
    assert.equal(res.status, 504);
    assert.equal((await res.json() as { code: string }).code, 'deadline_exceeded');
    const next = await post('bad', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    assert.equal(next.status, 200);
  });

  it('answers 500 for the request that crashed its worker, and replaces the worker', async () => {
    const res = await post('bad', { instances: [[1, 2, 3, 4]] }, { 'x-how': 'crash' });
    assert.equal(res.status, 500);
    assert.match((await res.json() as { error: string }).error, /worker running this request exited with code 3; it was replaced/);
    await waitFor(async () => (await post('bad', { instances: [[5.1, 3.5, 1.4, 0.2]] })).status === 200, 10_000);
  });

  it('keeps the event loop answering while a CPU-heavy transform runs', async () => {
    let transformed = false;
    const busy = post('bad', { instances: [[5.1, 3.5, 1.4, 0.2]] }, { 'x-how': 'busy' }).then((r) => { transformed = true; return r; });
    await new Promise((r) => setTimeout(r, 50));
    const live = await fetch(`${gw.url}/v2/health/live`);
    assert.equal(live.status, 200);
    assert.equal(transformed, false, 'health answered only after the transform finished');
    assert.equal((await busy).status, 200);
  });

  it('keeps a model whose load() failed not ready, with the error, and answers its calls 503', async () => {
    assert.equal((await fetch(`${gw.url}/v2/models/failing/ready`)).status, 503);
    // The platform's probe too: a served model that cannot serve keeps the gateway not ready.
    assert.equal((await fetch(`${gw.url}/v2/health/ready`)).status, 503);
    const res = await post('failing', { instances: [[1, 2, 3, 4]] });
    assert.equal(res.status, 503);
    assert.match((await res.json() as { error: string }).error, /load failed: assets\.bin is missing/);
    const status = await (await fetch(`${gw.adminUrl}/admin/status`)).json() as { models: Record<string, { transform: { error: string } }> };
    assert.match(JSON.stringify(status), /assets\.bin is missing/);
  });

  it('re-imports the module on reload', async () => {
    const first = await post('reloaded', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    assert.deepEqual(await first.json(), { predictions: ['first'] });
    // A slow load(): the reload swaps the new module in only once it has loaded, so no call in
    // between gets "still loading".
    writeFileSync(files.reloaded, `export async function load() { await new Promise((r) => setTimeout(r, 400)); }\nexport function postprocess() { return { predictions: ['second'] }; }\n`);
    const during: Promise<Response>[] = [];
    const ticker = setInterval(() => during.push(post('reloaded', { instances: [[5.1, 3.5, 1.4, 0.2]] })), 25);
    const reload = await fetch(`${gw.adminUrl}/admin/reload`, { method: 'POST' });
    clearInterval(ticker);
    assert.equal(reload.status, 200);
    const statuses = await Promise.all(during.map(async (r) => (await r).status));
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 200), `statuses during the reload: ${statuses.join(',')}`);
    const res = await post('reloaded', { instances: [[5.1, 3.5, 1.4, 0.2]] });
    assert.deepEqual(await res.json(), { predictions: ['second'] });
  });
});

describe('infergate check and transform modules', () => {
  it('refuses a config whose module does not exist, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'transform-check-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, `backends: { local: { type: onnx, modelRepository: ${repo} } }\nmodels:\n  iris:\n    transform: { module: ./nowhere.ts }\n    targets: [ { backend: local } ]\n`);
      const out = spawnSync(process.execPath, [mainFile, 'check', file], { encoding: 'utf8' });
      assert.equal(out.status, 1, out.stdout + out.stderr);
      assert.match(out.stderr, new RegExp(`module "${join(dir, 'nowhere.ts').replace(/[.\\/]/g, '\\$&')}" does not exist`));
      writeFileSync(join(dir, 'nowhere.ts'), 'export function preprocess(r) { return r; }\n');
      const ok = spawnSync(process.execPath, [mainFile, 'check', file], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a transform step it does not know, listing the ones it does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'transform-check-'));
    try {
      const file = join(dir, 'config.yaml');
      writeFileSync(file, `backends: { local: { type: onnx, modelRepository: ${repo} } }\nmodels:\n  iris:\n    transform: [ { resize: { width: 3 } } ]\n    targets: [ { backend: local } ]\n`);
      const out = spawnSync(process.execPath, [mainFile, 'check', file], { encoding: 'utf8' });
      assert.equal(out.status, 1);
      assert.match(out.stderr, /a transform step is one object with one of the keys image, scale, softmax, topk, labels, module; got "resize"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('modules that cannot load', () => {
  it('a syntax error, or a module exporting nothing the gateway calls, keeps its model not ready, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'transform-broken-'));
    writeFileSync(join(dir, 'syntax.js'), 'export function preprocess(r) { return r;\n');
    writeFileSync(join(dir, 'empty.js'), 'export const version = 1;\n');
    const gw = await startGateway(`
frontends: { kserve: {} }
backends: { local: { type: onnx, modelRepository: ${repo} } }
models:
  syntax: { transform: { module: ${join(dir, 'syntax.js')}, workers: 1 }, targets: [ { backend: local, model: iris } ] }
  empty: { transform: { module: ${join(dir, 'empty.js')}, workers: 1 }, targets: [ { backend: local, model: iris } ] }
  iris: { targets: [ { backend: local } ] }
`);
    try {
      const errorOf = async (model: string): Promise<string> => {
        const res = await fetch(`${gw.url}/v1/models/${model}:predict`, { method: 'POST', body: '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' });
        return res.status === 503 ? (await res.json() as { error: string }).error : '';
      };
      await waitFor(async () => /load failed: .*SyntaxError|load failed: .*Unexpected end/i.test(await errorOf('syntax')), 10_000);
      await waitFor(async () => /load failed: it exports none of preprocess, postprocess and combine/.test(await errorOf('empty')), 10_000);
      assert.equal((await fetch(`${gw.url}/v2/models/iris/ready`)).status, 200, 'the other models are served');
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('readiness waits for load()', () => {
  it('answers not ready, and 503 "still loading", until every worker has loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'transform-load-'));
    const gate = join(dir, 'gate');
    writeFileSync(join(dir, 'slow.js'), `import { existsSync } from 'node:fs';
export async function load() { while (!existsSync(${JSON.stringify(gate)})) await new Promise((r) => setTimeout(r, 20)); }
export function postprocess(res) { return { predictions: res.predictions.map(() => 'loaded') }; }
`);
    const gw = await startGateway(`
frontends: { kserve: {} }
backends: { local: { type: onnx, modelRepository: ${repo} } }
models:
  slow: { transform: { module: ${join(dir, 'slow.js')}, workers: 2 }, targets: [ { backend: local, model: iris } ] }
`);
    try {
      assert.equal((await fetch(`${gw.url}/v2/models/slow/ready`)).status, 503);
      assert.equal((await fetch(`${gw.url}/v2/health/ready`)).status, 503);
      const early = await fetch(`${gw.url}/v1/models/slow:predict`, { method: 'POST', body: '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' });
      assert.equal(early.status, 503);
      assert.match((await early.json() as { error: string }).error, /transform is still loading/);
      writeFileSync(gate, '');
      await waitFor(async () => (await fetch(`${gw.url}/v2/models/slow/ready`)).status === 200, 10_000);
      const res = await fetch(`${gw.url}/v1/models/slow:predict`, { method: 'POST', body: '{"instances": [[5.1, 3.5, 1.4, 0.2]]}' });
      assert.deepEqual(await res.json(), { predictions: ['loaded'] });
    } finally {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
