// v2-binary.test.ts — Triton's binary tensor extension against the document's own example
// (test/fixtures/v2/binary-*.json) and every datatype, plus the content-type variant (Vertex, SageMaker).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  decodeBinaryRequest, decodeBinaryResponse, encodeBinaryRequest, encodeBinaryResponse,
  binaryContentType, headerLengthFromContentType, vertexBinaryType, wantsBinaryOutputs,
} from '../../src/codecs/v2-binary.ts';
import { decodeInferRequest } from '../../src/codecs/v2-json.ts';
import { GatewayError } from '../../src/errors.ts';
import { throwsGatewayError as rejects } from '../support/expect-error.ts';
import { datatypes } from '../../src/tensors/datatype.ts';
import type { InferResponse } from '../../src/tensors/tensor.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/v2/${name}`, import.meta.url));


describe('v2 binary request', () => {
  it('reads the document example: 16 bytes of UINT32 then 3 bytes of BOOL', () => {
    const header = fixture('binary-request-header.json');
    const input0 = Buffer.alloc(16);
    [1, 2, 3, 4].forEach((v, i) => input0.writeUInt32LE(v, i * 4));
    const body = Buffer.concat([header, input0, Buffer.from([1, 0, 1])]);
    const req = decodeBinaryRequest(body, header.length);
    assert.deepEqual(Array.from(req.inputs![0]!.data as Uint32Array), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(req.inputs![1]!.data as Uint8Array), [1, 0, 1]);
    assert.equal(req.inputs![0]!.parameters, undefined, 'binary_data_size is a wire detail and is dropped');
    assert.deepEqual(wantsBinaryOutputs(req), new Set(['output0']));
  });

  it('round-trips every datatype, BYTES as length-prefixed elements', () => {
    const samples: Record<string, unknown[]> = {
      BOOL: [true, false, true], UINT8: [0, 1, 255], UINT16: [0, 1, 65535], UINT32: [1, 2, 4294967295],
      UINT64: [0, 1, 18446744073709551615n], INT8: [-128, 0, 127], INT16: [-32768, 0, 32767],
      INT32: [-1, 0, 2147483647], INT64: [-9223372036854775808n, 0, 5], FP16: [1.5, -2, 0],
      FP32: [0.5, -1.25, 3], FP64: [0.1, 1e300, -0], BYTES: ['héllo', '', 'x'],
    };
    for (const datatype of datatypes) {
      const req = decodeInferRequest({ id: 'r', inputs: [{ name: 't', datatype, shape: [3], data: samples[datatype] }] });
      const { body, headerLength } = encodeBinaryRequest(req, { binaryOutputs: true });
      const header = JSON.parse(body.subarray(0, headerLength).toString());
      assert.equal(header.parameters.binary_data_output, true);
      assert.equal(header.inputs[0].data, undefined);
      const back = decodeBinaryRequest(body, headerLength);
      assert.equal(back.id, 'r');
      assert.deepEqual(back.inputs![0]!.data, req.inputs![0]!.data, datatype);
    }
  });

  it('writes BYTES as a 4-byte little-endian length then the bytes', () => {
    const req = decodeInferRequest({ inputs: [{ name: 's', datatype: 'BYTES', shape: [2], data: ['ab', 'c'] }] });
    const { body, headerLength } = encodeBinaryRequest(req);
    assert.deepEqual([...body.subarray(headerLength)], [2, 0, 0, 0, 97, 98, 1, 0, 0, 0, 99]);
  });

  it('asks for named outputs as binary when outputs are listed', () => {
    const req = decodeInferRequest({ inputs: [], outputs: [{ name: 'a' }, { name: 'b', parameters: { x: 1 } }] });
    const { body, headerLength } = encodeBinaryRequest(req, { binaryOutputs: true });
    const header = JSON.parse(body.subarray(0, headerLength).toString());
    assert.deepEqual(header.outputs, [{ name: 'a', parameters: { binary_data: true } }, { name: 'b', parameters: { x: 1, binary_data: true } }]);
  });

  it('rejects bodies whose sizes do not add up', () => {
    const header = fixture('binary-request-header.json');
    rejects(() => decodeBinaryRequest(Buffer.concat([header, Buffer.alloc(18)]), header.length), 'bad_tensor', /"input1".*runs past the end/);
    rejects(() => decodeBinaryRequest(Buffer.concat([header, Buffer.alloc(20)]), header.length), 'bad_request', /1 bytes follow/);
    rejects(() => decodeBinaryRequest(header, header.length + 5), 'bad_request', /does not fit/);
    rejects(() => decodeBinaryRequest(Buffer.alloc(4), 0), 'bad_request', /raw binary request/);
    const wrongSize = Buffer.from(JSON.stringify({ inputs: [{ name: 'f', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 4 } }] }));
    rejects(() => decodeBinaryRequest(Buffer.concat([wrongSize, Buffer.alloc(4)]), wrongSize.length), 'bad_tensor', /"f".*needs 8 bytes/);
    const badBytes = Buffer.from(JSON.stringify({ inputs: [{ name: 's', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 5 } }] }));
    rejects(() => decodeBinaryRequest(Buffer.concat([badBytes, Buffer.from([9, 0, 0, 0, 1])]), badBytes.length), 'bad_tensor', /"s".*claims 9 bytes/);
  });
});

describe('v2 binary response', () => {
  it('reads the document example: 24 bytes of FP32', () => {
    const header = fixture('binary-response-header.json');
    const data = Buffer.from(new Float32Array([1, 1.5, 2, 2.5, 3, 3.5]).buffer);
    const res = decodeBinaryResponse(Buffer.concat([header, data]), header.length, 'backend "t"');
    assert.deepEqual(Array.from(res.outputs![0]!.data as Float32Array), [1, 1.5, 2, 2.5, 3, 3.5]);
  });

  it('writes chosen outputs as binary and the rest as JSON', () => {
    const res: InferResponse = {
      modelName: 'm', id: '7',
      outputs: [
        { name: 'a', datatype: 'FP32', shape: [2], data: new Float32Array([1, 2]) },
        { name: 'b', datatype: 'INT32', shape: [1], data: new Int32Array([5]) },
      ],
    };
    const { body, headerLength } = encodeBinaryResponse(res, { binaryOutputs: new Set(['a']) });
    const header = JSON.parse(body.subarray(0, headerLength).toString());
    assert.equal(header.model_name, 'm');
    assert.deepEqual(header.outputs[1].data, [5]);
    assert.equal(header.outputs[0].parameters.binary_data_size, 8);
    const back = decodeBinaryResponse(body, headerLength, 'x');
    assert.deepEqual(Array.from(back.outputs![0]!.data as Float32Array), [1, 2]);
    assert.deepEqual(Array.from(back.outputs![1]!.data as Int32Array), [5]);
    assert.equal(back.id, '7');
  });

  it('blames the backend for a truncated answer', () => {
    const header = fixture('binary-response-header.json');
    rejects(() => decodeBinaryResponse(Buffer.concat([header, Buffer.alloc(10)]), header.length, 'backend "t"'),
      'backend_bad_reply', /backend "t".*"output0"/);
    rejects(() => decodeBinaryResponse(Buffer.from('{"outputs": ['), 13, 'backend "t"'), 'backend_bad_reply', /backend "t"/);
  });
});

describe('binary content types with json-header-size (Vertex, SageMaker)', () => {
  const sagemaker = 'application/vnd.sagemaker-triton.binary+json';
  it('reads json-header-size from the content type of the media type asked', () => {
    assert.equal(headerLengthFromContentType('application/vnd.vertex-ai-triton.binary+json;json-header-size=123', vertexBinaryType), 123);
    assert.equal(headerLengthFromContentType('Application/Vnd.Vertex-AI-Triton.Binary+JSON; JSON-Header-Size=7', vertexBinaryType), 7);
    assert.equal(headerLengthFromContentType(binaryContentType(42, vertexBinaryType), vertexBinaryType), 42);
    assert.equal(headerLengthFromContentType(`${sagemaker};charset=utf-8;json-header-size=9`, sagemaker), 9);
  });
  it('gives undefined for another media type, or a missing or malformed size', () => {
    assert.equal(headerLengthFromContentType('application/json', vertexBinaryType), undefined);
    assert.equal(headerLengthFromContentType(binaryContentType(42, sagemaker), vertexBinaryType), undefined);
    assert.equal(headerLengthFromContentType('application/vnd.vertex-ai-triton.binary+json', vertexBinaryType), undefined);
    assert.equal(headerLengthFromContentType('application/vnd.vertex-ai-triton.binary+json;json-header-size=x', vertexBinaryType), undefined);
    assert.equal(headerLengthFromContentType(`${vertexBinaryType};json-header-size=${'9'.repeat(16)}`, vertexBinaryType), undefined);
  });
  it('writes the media type with the header size', () => {
    assert.equal(binaryContentType(12, sagemaker), `${sagemaker};json-header-size=12`);
  });
});
