// A fixed, representative subset of the ONNX backend test data (every datatype family, shape
// inputs, multi-output, variable-size outputs, a recurrent net, one model of each skip reason),
// compared with onnxruntime-node in-process; `npm run conformance` runs all of node/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dataRoot, runConformance } from './onnx-conformance.ts';

const subset = [
  'test_add', 'test_abs', 'test_matmul_2d', 'test_gemm_default_no_bias', 'test_conv_with_strides_padding',
  'test_maxpool_2d_default', 'test_softmax_axis_0', 'test_lstm_defaults', // FP32 kernels
  'test_cast_FLOAT_to_FLOAT16', 'test_cast_FLOAT16_to_DOUBLE', // FP16, FP64
  'test_argmax_default_axis_example', 'test_top_k', 'test_nonzero_example', 'test_reshape_reordered_all_dims', // INT64
  'test_gather_0', 'test_cumsum_1d', 'test_where_example', 'test_equal', 'test_and2d', // indices, BOOL
  'test_mod_mixed_sign_int8', 'test_mod_int64_fmod', 'test_max_uint32', 'test_bitshift_left_uint64', 'test_pow_types_int32_float32',
  'test_cast_STRING_to_FLOAT', // BYTES in
  'test_isnan', 'test_sequence_insert_at_back', 'test_min_int16', // skipped: NaN input, sequence, no kernel
];

function check(report: Awaited<ReturnType<typeof runConformance>>): void {
  assert.deepEqual(report.mismatched, []);
  assert.equal(report.matched, report.loaded);
  assert.ok(report.loaded >= 24, `only ${report.loaded} of ${subset.length} models loaded in-process`);
  assert.ok(report.skipped.some((s) => s.model === 'test_isnan' && /NaN/.test(s.reason)));
  assert.ok(report.skipped.some((s) => s.model === 'test_sequence_insert_at_back' && /not a tensor/.test(s.reason)));
}

describe('onnx conformance subset', { skip: existsSync(dataRoot) ? false : 'libonnx-testdata is not installed' }, () => {
  it('matches in-process onnxruntime through the onnx backend', async () => {
    check(await runConformance(subset, { via: 'backend' }));
  });

  it('matches in-process onnxruntime through POST /v2/models/{m}/infer', async () => {
    check(await runConformance(subset, { via: 'gateway' }));
  });
});
