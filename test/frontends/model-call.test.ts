// model-call.test.ts — a model name to its answer: strict client-chosen names, the lookup's
// 404 naming what is served, and the call carrying the request's context and its target.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { callModel, checkName, lookupModel } from '../../src/frontends/model-call.ts';
import { fakeDeps, fakeModel, fakeRequest } from '../support/fake-request.ts';

const notFound = (message: RegExp) => (err: unknown): boolean =>
  err instanceof GatewayError && err.status === 404 && err.code === 'model_not_found' && message.test(err.message);

test('lookupModel: the handle by name, or by name and version', () => {
  const iris = fakeModel('iris');
  const iris2 = fakeModel('iris', { version: '2' });
  const deps = fakeDeps([iris], { versions: { 'iris@2': iris2 } });
  assert.equal(lookupModel(deps, 'iris'), iris);
  assert.equal(lookupModel(deps, 'iris', '2'), iris2);
});

test('lookupModel: an unknown version names the model; an unknown model lists what is served (20 at most)', () => {
  const deps = fakeDeps([fakeModel('iris'), fakeModel('resnet')]);
  assert.throws(() => lookupModel(deps, 'iris', '9'), notFound(/^model "iris" has no version "9" here$/));
  assert.throws(() => lookupModel(deps, 'bert'), notFound(/^model "bert" is not served here; models: "iris", "resnet"$/));
  assert.throws(() => lookupModel(fakeDeps([]), 'bert'), notFound(/models: none$/));
  const many = fakeDeps(Array.from({ length: 25 }, (_, i) => fakeModel(`m${i}`)));
  assert.throws(() => lookupModel(many, 'x'.repeat(300)), notFound(/^model "x{80}…" is not served here; models: "m0", .*"m19", …$/));
});

test('checkName: a strict name passes; anything else is 400 bad_name naming where it came from', () => {
  assert.equal(checkName('densenet_onnx-1.2', 'the model_name header'), 'densenet_onnx-1.2');
  for (const bad of ['..', '.', '.hidden', '../etc', 'a/b', 'a b', '', 'x'.repeat(129), 'ı']) {
    assert.throws(() => checkName(bad, 'the model_name header'), (err: unknown) =>
      err instanceof GatewayError && err.code === 'bad_name' && err.status === 400 &&
      err.message.startsWith('the model_name header ') && /is not a model name \(letters, digits/.test(err.message), bad);
  }
});

test('callModel: the handle gets the request\'s own call context; the answer names the target that served it', async () => {
  const model = fakeModel('iris', { target: 'canary' });
  const req = fakeRequest();
  const { response, headers } = await callModel(req, model, { instances: [1, 2] });
  assert.deepEqual(response, { predictions: [1, 2] });
  assert.deepEqual(headers, { 'x-infergate-target': 'canary' });
  assert.equal(req.call.model, 'iris', 'the handle named its model in the call');
  let seen: unknown;
  const spy = fakeModel('iris', { infer: (_r, ctx) => { seen = ctx; return { predictions: [0] }; } });
  const other = fakeRequest();
  assert.deepEqual((await callModel(other, spy, { instances: [0] })).headers, {}, 'no target, no header');
  assert.equal(seen, other.call);
});
