// number-text.test.ts — the fast numeric JSON writer: FP32 text reads back to the same float32
// for every kind of value, integers and BigInt are exact, and v2 text matches the generic encoder.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32Text, numericArrayText } from '../../src/codecs/number-text.ts';
import { encodeInferRequest, stringifyInferRequest, stringifyInferResponse } from '../../src/codecs/v2-json.ts';
import { parseJson, stringifyJson } from '../../src/codecs/json.ts';
import type { Tensor } from '../../src/tensors/tensor.ts';

describe('float32Text', () => {
  it('writes short decimals that read back to the same float32', () => {
    const values = new Float32Array([0, 0.123, -0.5, 1, 100, 3.4028234663852886e38, 1.1754943508222875e-38, 1e-45, -2.5e-7,
      123456.789, 9999999999, 1e10, 0.1, 1 / 3, -1 / 7, 16777217, 5e-324]);
    const text = float32Text(values);
    assert.match(text, /^\[0,0\.123,-0\.5,1,100,/);
    const back = JSON.parse(text) as number[];
    back.forEach((v, i) => assert.equal(Math.fround(v), values[i], `${i}: ${v} vs ${values[i]}`));
  });

  it('round-trips 100 000 random float32 bit patterns', () => {
    const bits = new Uint32Array(100_000);
    let s = 12345;
    for (let i = 0; i < bits.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; bits[i] = s; }
    const values = new Float32Array(bits.buffer);
    const back = JSON.parse(float32Text(values)) as Array<number | null>;
    back.forEach((v, i) => {
      const f = values[i]!;
      if (Number.isFinite(f)) assert.equal(Math.fround(v as number), f, `${i}`);
      else assert.equal(v, null);
    });
  });

  it('writes integers with join and leaves BOOL, FP16 and BYTES to the generic writer', () => {
    assert.equal(numericArrayText('INT32', new Int32Array([-1, 2])), '[-1,2]');
    assert.equal(numericArrayText('UINT64', new BigUint64Array([18446744073709551615n])), '[18446744073709551615]');
    assert.equal(numericArrayText('FP64', new Float64Array([0.1, NaN])), '[0.1,null]');
    assert.equal(numericArrayText('BOOL', new Uint8Array([1])), undefined);
    assert.equal(numericArrayText('FP16', new Uint16Array([1])), undefined);
  });
});

describe('stringifyInferRequest / stringifyInferResponse', () => {
  const inputs: Tensor[] = [
    { name: 'a', datatype: 'FP32', shape: [3], data: new Float32Array([0.25, 0.1, -3]) },
    { name: 'b', datatype: 'BOOL', shape: [1], data: new Uint8Array([1]), parameters: { p: 1 } },
    { name: 'c', datatype: 'INT64', shape: [1], data: new BigInt64Array([9007199254740993n]) },
    { name: 'd', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('\u0000x:0')] },
  ];
  it('gives the same document as the generic encoder', () => {
    const req = { id: '1', parameters: { s: '\u0000data:0' }, inputs, outputs: [{ name: 'y' }] };
    const fast = parseJson(stringifyInferRequest(req)) as { inputs: Array<{ data: unknown[] }> };
    const slow = parseJson(stringifyJson(encodeInferRequest(req))) as { inputs: Array<{ data: unknown[] }> };
    assert.deepEqual(fast.inputs[0]!.data, [0.25, 0.1, -3]);
    assert.notDeepEqual(slow.inputs[0]!.data, fast.inputs[0]!.data, 'the generic writer widens 0.1 to double');
    slow.inputs[0]!.data = fast.inputs[0]!.data;
    assert.deepEqual(fast, slow);
    assert.equal(fast.inputs[2]!.data[0], 9007199254740993n);
    assert.deepEqual(fast.inputs[3]!.data, ['\u0000x:0']);
  });
  it('writes responses', () => {
    const text = stringifyInferResponse({ modelName: 'm', outputs: [inputs[0]!] });
    assert.equal(text, '{"model_name":"m","outputs":[{"name":"a","shape":[3],"datatype":"FP32","data":[0.25,0.1,-3]}]}');
  });
});
