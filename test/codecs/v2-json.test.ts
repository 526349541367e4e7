// v2-json.test.ts — the KServe v2 JSON codec against the protocol document's own examples
// (test/fixtures/v2, corrected where the document is invalid JSON) and every datatype.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseJson, stringifyJson } from '../../src/codecs/json.ts';
import {
  decodeInferRequest, decodeInferResponse, decodeMetadata, encodeInferRequest, encodeInferResponse, encodeMetadata,
} from '../../src/codecs/v2-json.ts';
import { GatewayError } from '../../src/errors.ts';
import { datatypes } from '../../src/tensors/datatype.ts';

const fixture = (name: string): unknown => parseJson(readFileSync(new URL(`../fixtures/v2/${name}`, import.meta.url)));

function rejects(f: () => unknown, code: string, pattern: RegExp): void {
  assert.throws(f, (err: unknown) => {
    assert.ok(err instanceof GatewayError, `expected a GatewayError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('v2 JSON request', () => {
  it('reads the document example: id, tensors, outputs', () => {
    const req = decodeInferRequest(fixture('infer-request.json'));
    assert.equal(req.id, '42');
    assert.deepEqual(req.outputs, [{ name: 'output0' }]);
    const [a, b] = req.inputs!;
    assert.equal(a!.datatype, 'UINT32');
    assert.deepEqual(a!.shape, [2, 2]);
    assert.deepEqual(Array.from(a!.data as Uint32Array), [1, 2, 3, 4]);
    assert.ok(a!.data instanceof Uint32Array);
    assert.deepEqual(Array.from(b!.data as Uint8Array), [1]);
  });

  it('accepts nested data and flattens it row-major', () => {
    const req = decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [[1, 2, 3], [4, 5, 6]] }] });
    assert.deepEqual(Array.from(req.inputs![0]!.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    const deep = decodeInferRequest({ inputs: [{ name: 'x', datatype: 'INT8', shape: [2, 1, 2], data: [[[1, 2]], [[3, 4]]] }] });
    assert.deepEqual(Array.from(deep.inputs![0]!.data as Int8Array), [1, 2, 3, 4]);
  });

  it('keeps parameters on the request, the inputs and the outputs', () => {
    const req = decodeInferRequest({
      parameters: { priority: 1 },
      inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: [7], parameters: { note: 'a' } }],
      outputs: [{ name: 'y', parameters: { binary_data: false } }],
    });
    assert.deepEqual(req.parameters, { priority: 1 });
    assert.deepEqual(req.inputs![0]!.parameters, { note: 'a' });
    assert.deepEqual(req.outputs, [{ name: 'y', parameters: { binary_data: false } }]);
  });

  it('round-trips every datatype through encode and decode', () => {
    const samples: Record<string, unknown[]> = {
      BOOL: [true, false], UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295],
      UINT64: [0, 18446744073709551615n], INT8: [-128, 127], INT16: [-32768, 32767],
      INT32: [-2147483648, 2147483647], INT64: [-9223372036854775808n, 9223372036854775807n],
      FP16: [1.5, -2], FP32: [0.5, -1.25], FP64: [0.1, 1e300], BYTES: ['héllo', ''],
    };
    for (const datatype of datatypes) {
      const body = { inputs: [{ name: 't', datatype, shape: [2], data: samples[datatype] }] };
      const text = stringifyJson(body);
      const req = decodeInferRequest(parseJson(text));
      const back = encodeInferRequest(req) as { inputs: Array<{ data: unknown[] }> };
      assert.deepEqual(back.inputs[0]!.data, samples[datatype], datatype);
      assert.equal(parseJson(stringifyJson(back)) !== undefined, true);
    }
  });

  it('keeps INT64 beyond 2^53 exact through the JSON text', () => {
    const text = '{"inputs":[{"name":"t","datatype":"INT64","shape":[1],"data":[9007199254740993]}]}';
    const req = decodeInferRequest(parseJson(text));
    assert.equal((req.inputs![0]!.data as BigInt64Array)[0], 9007199254740993n);
    assert.match(stringifyJson(encodeInferRequest(req)), /9007199254740993/);
  });

  it('names the tensor when shape and data disagree', () => {
    rejects(() => decodeInferRequest({ inputs: [{ name: 'input1', datatype: 'BOOL', shape: [3], data: [true] }] }),
      'bad_tensor', /"input1".*shape \[3\] holds 3 elements.*has 1/);
    rejects(() => decodeInferRequest({ inputs: [{ name: 'n', datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3]] }] }),
      'bad_tensor', /"n"/);
  });

  it('rejects malformed requests with 400 and a reason', () => {
    rejects(() => decodeInferRequest([]), 'bad_request', /expected a JSON object/);
    rejects(() => decodeInferRequest({}), 'bad_request', /"inputs" must be an array/);
    rejects(() => decodeInferRequest({ inputs: [{ datatype: 'FP32', shape: [1], data: [1] }] }), 'bad_request', /needs a "name"/);
    rejects(() => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1], data: [1] }] }), 'bad_request', /"FLOAT" is not a v2 datatype/);
    rejects(() => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], data: [1] }] }), 'bad_request', /shape/);
    rejects(() => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }), 'bad_request', /"data" must be an array/);
    rejects(() => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'UINT8', shape: [1], data: [300] }] }), 'bad_tensor', /"x".*element 0/);
    rejects(() => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: ['a'] }] }), 'bad_tensor', /"x"/);
    rejects(() => decodeInferRequest({ id: 42, inputs: [] }), 'bad_request', /"id" must be a string/);
    rejects(() => decodeInferRequest({ inputs: [], outputs: {} }), 'bad_request', /"outputs" must be an array/);
    rejects(() => decodeInferRequest({ inputs: [], parameters: [] }), 'bad_request', /"parameters" must be an object/);
    rejects(() => decodeInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } }] }),
      'bad_request', /binary_data_size.*plain JSON/);
  });
});

describe('v2 JSON response', () => {
  it('reads the document example and writes it back', () => {
    const res = decodeInferResponse(fixture('infer-response.json'), 'backend "t"');
    assert.equal(res.id, '42');
    const out = res.outputs![0]!;
    assert.deepEqual(out.shape, [3, 2]);
    assert.ok(out.data instanceof Float32Array);
    const back = encodeInferResponse({ ...res, modelName: 'mymodel' }) as Record<string, unknown>;
    assert.equal(back.model_name, 'mymodel');
    assert.equal(back.id, '42');
    const data = (back.outputs as Array<{ data: number[] }>)[0]!.data;
    assert.deepEqual(data.map((v) => Math.round(v * 10) / 10), [1, 1.1, 2, 2.1, 3, 3.1]);
  });

  it('reads model_name, model_version and parameters', () => {
    const res = decodeInferResponse({ model_name: 'm', model_version: '3', parameters: { a: 1 }, outputs: [] }, 'b');
    assert.equal(res.modelName, 'm');
    assert.equal(res.modelVersion, '3');
    assert.deepEqual(res.parameters, { a: 1 });
  });

  it('blames the backend for a malformed answer (502), naming it', () => {
    rejects(() => decodeInferResponse({ error: 'x' }, 'backend "tri"'), 'backend_bad_reply', /backend "tri".*"outputs"/);
    rejects(() => decodeInferResponse({ outputs: [{ name: 'y', datatype: 'FP32', shape: [2], data: [1] }] }, 'backend "tri"'),
      'backend_bad_reply', /backend "tri".*"y"/);
    rejects(() => decodeInferResponse({ outputs: [{ name: 'y', datatype: 'INT8', shape: [1], data: [1000] }] }, 'backend "tri"'),
      'backend_bad_reply', /"y"/);
  });
});

describe('v2 model metadata', () => {
  it('round-trips, keeping -1 dimensions', () => {
    const doc = {
      name: 'iris', versions: ['1'], platform: 'onnx_onnxv1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'y', datatype: 'INT64', shape: [-1] }],
    };
    const meta = decodeMetadata(doc, 'backend "t"');
    assert.deepEqual(encodeMetadata(meta), doc);
  });

  it('rejects metadata without proper specs', () => {
    rejects(() => decodeMetadata({ name: 'm', inputs: {}, outputs: [] }, 'backend "t"'), 'backend_bad_reply', /"inputs" must be an array/);
    rejects(() => decodeMetadata({ name: 'm', inputs: [{ name: 'x', datatype: 'F', shape: [1] }], outputs: [] }, 'b'),
      'backend_bad_reply', /"x"/);
    rejects(() => decodeMetadata({ inputs: [], outputs: [] }, 'b'), 'backend_bad_reply', /"name"/);
  });
});
