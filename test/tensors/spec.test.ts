// spec.test.ts — the one configured TensorSpec form: what it accepts is a TensorSpec, and each
// mistake a config author makes is refused with a message saying what was expected.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tensorSpecSchema } from '../../src/tensors/spec.ts';
import type { TensorSpec } from '../../src/tensors/tensor.ts';

describe('tensorSpecSchema', () => {
  it('accepts a named spec with a v2 datatype and -1 for variable dimensions', () => {
    const spec: TensorSpec = tensorSpecSchema.parse({ name: 'x', datatype: 'FP32', shape: [-1, 4] });
    assert.deepEqual(spec, { name: 'x', datatype: 'FP32', shape: [-1, 4] });
    assert.deepEqual(tensorSpecSchema.parse({ name: 's', datatype: 'BYTES', shape: [] }).shape, []);
  });

  it('refuses a datatype that is not a v2 one, naming the expected ones', () => {
    const r = tensorSpecSchema.safeParse({ name: 'x', datatype: 'float32', shape: [1] });
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /expected a v2 datatype \(BOOL, .*BYTES\)/);
  });

  it('refuses an empty name, a dimension below -1 or fractional, and unknown keys', () => {
    for (const bad of [
      { name: '', datatype: 'FP32', shape: [1] },
      { name: 'x', datatype: 'FP32', shape: [-2] },
      { name: 'x', datatype: 'FP32', shape: [1.5] },
      { name: 'x', datatype: 'FP32', shape: [1], dims: [1] },
      { name: 'x', datatype: 'FP32' },
    ]) {
      assert.equal(tensorSpecSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
