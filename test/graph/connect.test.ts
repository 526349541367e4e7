// connect.ts: how a sequence feeds a step, on its own — what a map does to rows that are and are
// not objects, tensors passed whole to a step that reports no inputs, and the answers it cannot
// wire, with the code of whose fault it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, sourceOfAnswer, type Target } from '../../src/graph/connect.ts';
import type { Tensor } from '../../src/tensors/tensor.ts';

const t = (name: string): Tensor => ({ name, datatype: 'FP32', shape: [1, 1], data: Float32Array.of(1), parameters: { binary_data: true } });
const target = (inputs: string[], map?: Record<string, string>): Target => ({ graph: 'g', model: 'b', map, inputNames: async () => inputs });

test('a map renames the fields of object rows and leaves other rows as they are', async () => {
  const req = await connect(sourceOfAnswer('a', { predictions: [{ y: 1, z: 2 }, [3, 4], 5] }), target([], { v: 'y' }), {}, false);
  assert.deepEqual(req.instances, [{ v: 1 }, [3, 4], 5]);
});

test('the client\'s parameters go to every step; its requested outputs only to the last', async () => {
  const base = { id: 'r', parameters: { k: 1 }, outputs: [{ name: 'z' }] };
  const middle = await connect(sourceOfAnswer('a', { predictions: [1] }), target([]), base, false);
  assert.deepEqual(middle, { id: 'r', parameters: { k: 1 }, instances: [1] });
  const last = await connect(sourceOfAnswer('a', { predictions: [1] }), target([]), base, true);
  assert.deepEqual(last.outputs, [{ name: 'z' }]);
});

test('tensors go whole to a step that reports no inputs, without their answer parameters', async () => {
  const req = await connect(sourceOfAnswer('a', { outputs: [t('p'), t('q')] }), target([]), {}, false);
  assert.deepEqual(req.inputs!.map((x) => [x.name, x.parameters]), [['p', undefined], ['q', undefined]]);
});

test('by name, a step gets the outputs its inputs name, in its order, and no others', async () => {
  const req = await connect(sourceOfAnswer('a', { outputs: [t('p'), t('q'), t('r')] }), target(['r', 'p']), {}, false);
  assert.deepEqual(req.inputs!.map((x) => x.name), ['r', 'p']);
});

test('what cannot be wired is the gateway\'s 500 after a step, the client\'s 400 on the request', async () => {
  await assert.rejects(connect(sourceOfAnswer('a', {}), target(['x']), {}, false),
    { code: 'internal', message: 'graph "g": step "a" answered neither outputs nor predictions, so step "b" has nothing to take' });
  await assert.rejects(connect(sourceOfAnswer('a', { predictions: [{ y: 1 }] }), target([], { v: 'w' }), {}, false),
    { code: 'internal', message: /row 0 of step "a" has no field "w"; it has "y"/ });
  await assert.rejects(connect({ what: 'the request', inputs: [t('x')], code: 'bad_request' }, target([], { v: 'w' }), {}, false),
    { code: 'bad_request', message: /maps its input "v" from "w", which the request did not give; it gave "x"/ });
});
