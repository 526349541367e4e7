// The scale step: sklearn StandardScaler / MinMaxScaler values from a file or inline, applied
// to rows and to tensors, and every way a file, a config or a request can be wrong.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import { scale, scaleSchema } from '../../../src/transform/builtins/scale.ts';
import { buildStep, preprocess, rejectsWith, stepRequest } from '../../support/step-harness.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-scale-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
function file(content: unknown): string {
  const path = join(dir, `scaler-${files++}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const rows = (instances: unknown[]) => stepRequest({ instances });

describe('scale: the sklearn forms', () => {
  it('StandardScaler {"mean", "scale"}: (x − mean) / scale, each feature', async () => {
    const step = buildStep(scale, { file: file({ mean: [1, 10], scale: [2, 4] }) });
    const out = await preprocess(step, rows([[3, 2], [1, 10]]));
    assert.deepEqual(out.instances, [[1, -2], [0, 0]]);
  });

  it('"std" for "scale", and the attribute names with their underscore (mean_, scale_), read the same', async () => {
    for (const doc of [{ mean: [5], std: [2] }, { mean_: [5], scale_: [2], var_: [4], n_samples_seen_: 150 }]) {
      const out = await preprocess(buildStep(scale, { file: file(doc) }), rows([[9]]));
      assert.deepEqual(out.instances, [[2]], JSON.stringify(doc));
    }
  });

  it('MinMaxScaler {"min", "scale"} (its min_ and scale_): x · scale + min', async () => {
    const out = await preprocess(buildStep(scale, { file: file({ min_: [-0.5, 0], scale_: [0.25, 2] }) }), rows([[2, 3]]));
    assert.deepEqual(out.instances, [[0, 6]]);
  });

  it('MinMaxScaler {"data_min", "data_max"}: to [0, 1]; a feature of range 0 is only shifted, as sklearn does', async () => {
    const out = await preprocess(buildStep(scale, { file: file({ data_min: [0, 10, 3], data_max: [4, 20, 3] }) }), rows([[1, 15, 5]]));
    assert.deepEqual(out.instances, [[0.25, 0.5, 2]]);
  });

  it('inline mean/std and min/max work like the file forms', async () => {
    assert.deepEqual((await preprocess(buildStep(scale, { mean: [1], std: [0.5] }), rows([[2]]))).instances, [[2]]);
    assert.deepEqual((await preprocess(buildStep(scale, { min: [10], max: [30] }), rows([[15]]))).instances, [[0.25]]);
  });
});

describe('scale: tensors', () => {
  it('scales the first input along its last dimension, FP32 stays FP32, others untouched, the client\'s data unchanged', async () => {
    const data = Float32Array.from([3, 2, 1, 10]);
    const x: Tensor = { name: 'x', datatype: 'FP32', shape: [2, 2], data };
    const other: Tensor = { name: 'y', datatype: 'INT32', shape: [1], data: Int32Array.from([7]) };
    const out = await preprocess(buildStep(scale, { mean: [1, 10], std: [2, 4] }), stepRequest({ inputs: [x, other] }));
    const t = out.inputs![0]!;
    assert.equal(t.datatype, 'FP32');
    assert.ok(t.data instanceof Float32Array);
    assert.deepEqual(t.shape, [2, 2]);
    assert.deepEqual(Array.from(t.data), [1, -2, 0, 0]);
    assert.equal(out.inputs![1], other);
    assert.deepEqual(Array.from(data), [3, 2, 1, 10]);
  });

  it('`input` chooses the tensor; FP64 stays FP64', async () => {
    const a: Tensor = { name: 'a', datatype: 'FP64', shape: [1, 1], data: Float64Array.from([1]) };
    const b: Tensor = { name: 'b', datatype: 'FP64', shape: [1, 1], data: Float64Array.from([1]) };
    const out = await preprocess(buildStep(scale, { mean: [0.5], std: [0.1], input: 'b' }), stepRequest({ inputs: [a, b] }));
    assert.deepEqual(Array.from(out.inputs![0]!.data as Float64Array), [1]);
    assert.ok(out.inputs![1]!.data instanceof Float64Array);
    assert.deepEqual(Array.from(out.inputs![1]!.data as Float64Array), [(1 - 0.5) / 0.1]);
  });

  it('a tensor that is not FP32/FP64, has the wrong width, or is not there is refused', async () => {
    const step = buildStep(scale, { mean: [0, 0], std: [1, 1] });
    const ints: Tensor = { name: 'x', datatype: 'INT64', shape: [1, 2], data: BigInt64Array.from([1n, 2n]) };
    await rejectsWith(preprocess(step, stepRequest({ inputs: [ints] })), 'bad_tensor', /^scale: input "x" is INT64; scaling needs FP32 or FP64 features$/);
    const wide: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) };
    await rejectsWith(preprocess(step, stepRequest({ inputs: [wide] })), 'bad_tensor', /^scale: input "x" \(shape \[1, 3\]\) has 3 features per row; the scaler has 2$/);
    const named = buildStep(scale, { mean: [0, 0], std: [1, 1], input: 'z' });
    await rejectsWith(preprocess(named, stepRequest({ inputs: [wide] })), 'bad_request', /^scale: the request has no input "z"; its inputs: "x"$/);
  });
});

describe('scale: bad rows', () => {
  const step = buildStep(scale, { mean: [0, 0, 0], std: [1, 1, 1] });

  it('a row with the wrong number of features is 400 bad_tensor naming the row', async () => {
    await rejectsWith(preprocess(step, rows([[1, 2, 3], [1, 2]])), 'bad_tensor', /^scale: row 1 has 2 features; the scaler has 3$/);
  });

  it('a row that is not an array, or a feature that is not a number, is 400 naming both', async () => {
    await rejectsWith(preprocess(step, rows([{ a: 1 }])), 'bad_tensor', /^scale: row 0 is an object; expected an array of 3 numbers$/);
    await rejectsWith(preprocess(step, rows([[1, 2, 3], [1, '2', 3]])), 'bad_tensor', /^scale: row 1, feature 1 is the string "2"; expected a number$/);
  });

  it('a request with neither rows nor tensors is 400', async () => {
    await rejectsWith(preprocess(step, stepRequest({ body: Buffer.from('x') })), 'bad_request', /^scale: the request has neither instances/);
  });
});

describe('scale: bad files and configs are config errors naming the file and the key', () => {
  const atCreate = (config: unknown, pattern: RegExp): Promise<unknown> => rejectsWith(() => buildStep(scale, config), 'bad_config', pattern);

  it('a missing file, a file that is not JSON, not an object', async () => {
    const missing = join(dir, 'nope.json');
    await atCreate({ file: missing }, new RegExp(`^scale: scaler file ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot be read \\(ENOENT\\)$`));
    await atCreate({ file: file('{"mean": [1,') }, /is not valid JSON/);
    await atCreate({ file: file([1, 2]) }, /is not a JSON object$/);
  });

  it('no key set, two key sets, a missing partner, mismatched lengths, a zero divisor, a bad number', async () => {
    await atCreate({ file: file({ var_: [1] }) }, /has none of the accepted key sets: mean with scale \(or std\), min with scale, data_min with data_max$/);
    await atCreate({ file: file({ mean: [1], scale: [1], min: [0] }) }, /mixes the key sets mean and min; give one$/);
    await atCreate({ file: file({ mean: [1] }) }, /has no "scale"$/);
    await atCreate({ file: file({ mean: [1], scale: [1], std: [1] }) }, /has both "scale" and "std"/);
    await atCreate({ file: file({ mean: [1, 2], scale: [1] }) }, /"scale" has 1 values where the others have 2$/);
    await atCreate({ file: file({ mean: [1, 2], std: [1, 0] }) }, /std\[1\] is 0/);
    await atCreate({ file: file({ data_min: [1], data_max: [0] }) }, /data_max\[0\] is below data_min\[0\]$/);
    await atCreate({ file: file({ mean: [1, null], scale: [1, 1] }) }, /"mean"\[1\] is not a finite number$/);
    await atCreate({ file: file({ mean: [], scale: [] }) }, /"mean" is not a non-empty array of numbers$/);
  });

  it('the schema: a file or inline values, not both, not neither; pairs complete; bounded', () => {
    const bad = (config: unknown, pattern: RegExp): void => {
      const r = scaleSchema.safeParse(config);
      assert.equal(r.success, false, JSON.stringify(config));
      assert.match(JSON.stringify(r.error!.issues), pattern);
    };
    bad({}, /give \\"file\\", or \\"mean\\" with \\"std\\", or \\"min\\" with \\"max\\"/);
    bad({ file: 'a.json', mean: [1], std: [1] }, /give \\"file\\" or inline values, not both/);
    bad({ mean: [1] }, /need both \\"mean\\" and \\"std\\"/);
    bad({ min: [1], max: [2], mean: [1], std: [1] }, /mix mean\/std with min\/max/);
    bad({ mean: [1, 2], std: [1] }, /\\"std\\" has 1 values where the others have 2/);
    bad({ mean: [1], std: [0] }, /std\[0\] is 0/);
    bad({ mean: [1e301], std: [1] }, /too_big/);
    bad({ mean: Array.from({ length: 100_001 }, () => 0), std: [1] }, /too_big/);
    bad({ file: '' }, /too_small/);
    bad({ file: 'a.json', center: [1] }, /unrecognized_keys/);
    assert.equal(scaleSchema.safeParse({ file: 'a.json' }).success, true);
    assert.deepEqual(scale.files, ['file']);
  });
});
