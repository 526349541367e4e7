// The gRPC message codec on its own: requests in typed and raw form, parameters both ways, the
// checks that make a malformed message a 400 (a malformed answer a 502), and the answer's form.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeGrpcInferRequest, decodeGrpcInferResponse, decodeGrpcMetadata, encodeGrpcInferRequest, encodeGrpcInferResponse,
  readParameters, writeParameters,
} from '../../src/codecs/v2-grpc.ts';
import { throwsGatewayError } from '../support/expect-error.ts';

test('typed and raw FP32 inputs decode to the same tensor', () => {
  const typed = decodeGrpcInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: ['2', '2'], contents: { fp32_contents: [1, 2, 3, 4] } }] });
  const raw = decodeGrpcInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: ['2', '2'] }], raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)] });
  for (const r of [typed, raw]) {
    assert.deepEqual(r.inputs![0]!.shape, [2, 2]);
    assert.deepEqual(Array.from(r.inputs![0]!.data as Float32Array), [1, 2, 3, 4]);
  }
});

test('INT64 contents past 2^53 stay exact as BigInt', () => {
  const r = decodeGrpcInferRequest({ inputs: [{ name: 'x', datatype: 'INT64', shape: ['2'], contents: { int64_contents: ['9007199254740993', '-9223372036854775808'] } }] });
  assert.deepEqual(Array.from(r.inputs![0]!.data as BigInt64Array), [9007199254740993n, -9223372036854775808n]);
});

test('parameters: every InferParameter kind in, and the canonical values back out', () => {
  const p = readParameters({
    a: { parameter_choice: 'bool_param', bool_param: true }, b: { parameter_choice: 'int64_param', int64_param: '42' },
    c: { parameter_choice: 'string_param', string_param: 's' }, d: { parameter_choice: 'double_param', double_param: 0.5 },
    e: { parameter_choice: 'uint64_param', uint64_param: '18446744073709551615' }, f: {},
  });
  assert.deepEqual(p, { a: true, b: 42, c: 's', d: 0.5, e: '18446744073709551615' });
  assert.deepEqual(writeParameters({ a: true, b: 42, c: 's', d: 0.5, g: { nested: 1 } }), {
    a: { bool_param: true }, b: { int64_param: 42 }, c: { string_param: 's' }, d: { double_param: 0.5 }, g: { string_param: '{"nested":1}' },
  });
});

test('a malformed request is a 400 naming the tensor; a malformed answer is a 502 naming the backend', () => {
  throwsGatewayError(() => decodeGrpcInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1'] }] }), 'bad_request', /shape must be non-negative/);
  throwsGatewayError(() => decodeGrpcInferRequest({ inputs: [{ name: '', datatype: 'FP32', shape: [] }] }), 'bad_request', /inputs\[0\] needs a name/);
  throwsGatewayError(() => decodeGrpcInferRequest({
    inputs: [{ name: 'x', datatype: 'FP32', shape: ['1'], contents: { fp32_contents: [1] } }], raw_input_contents: [Buffer.alloc(4)],
  }), 'bad_request', /typed contents and raw_input_contents too/);
  throwsGatewayError(() => decodeGrpcInferRequest({ inputs: [{ name: 's', datatype: 'BYTES', shape: ['1'] }], raw_input_contents: [Buffer.from([9, 0, 0, 0, 1])] }),
    'bad_tensor', /claims 9 bytes/);
  throwsGatewayError(() => decodeGrpcInferResponse({ outputs: [{ name: 'y', datatype: 'FP32', shape: ['2'] }], raw_output_contents: [Buffer.alloc(4)] }, 'backend "t"'),
    'backend_bad_reply', /backend "t" answer: tensor "y": .* needs 8 bytes/);
  throwsGatewayError(() => decodeGrpcMetadata({ name: 'm', inputs: [{ name: 'x', datatype: 'F', shape: [] }] }, 'backend "t"'), 'backend_bad_reply', /not a v2 datatype/);
});

test('an answer is raw when asked raw or when an output is FP16; typed otherwise', () => {
  const y = { name: 'y', datatype: 'FP32' as const, shape: [2], data: new Float32Array([1, 2]) };
  const typed = encodeGrpcInferResponse({ modelName: 'm', outputs: [y] }, false);
  assert.deepEqual(typed.outputs![0]!.contents, { fp32_contents: [1, 2] });
  assert.equal(typed.raw_output_contents, undefined);
  const half = { name: 'h', datatype: 'FP16' as const, shape: [1], data: new Uint16Array([0x3c00]) };
  const raw = encodeGrpcInferResponse({ modelName: 'm', outputs: [y, half] }, false);
  assert.equal(raw.outputs![0]!.contents, undefined);
  assert.deepEqual(raw.raw_output_contents!.map((b) => Buffer.from(b).toString('hex')), ['0000803f00000040', '003c']);
});

test('a request to a backend carries every input raw, in order', () => {
  const msg = encodeGrpcInferRequest({ id: 'i', inputs: [{ name: 'a', datatype: 'INT32', shape: [1], data: new Int32Array([7]) }], outputs: [{ name: 'z' }] }, 'm', '2');
  assert.equal(msg.model_name, 'm');
  assert.equal(msg.model_version, '2');
  assert.equal(msg.inputs![0]!.contents, undefined);
  assert.equal(Buffer.from(msg.raw_input_contents![0]!).toString('hex'), '07000000');
  assert.deepEqual(msg.outputs, [{ name: 'z' }]);
});
