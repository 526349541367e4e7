// number-text.test.ts — the fast numeric JSON writer: FP32 text reads back to the same float32
// for every kind of value, integers and BigInt are exact, and v2 text matches the generic encoder.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { float32Bytes, float32BytesInScript, float32Text, numericArrayText } from '../../src/codecs/number-text.ts';
import { assertBuiltFrom } from '../support/wasm-build.ts';
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

  it('is written by short-decimals.wasm, the build of its .wat, exactly as by the JavaScript loop', async () => {
    await assertBuiltFrom('codecs/short-decimals');
    const text = (r: { bytes: Uint8Array; length: number }): string => Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.length).toString('latin1');
    const same = (a: Float32Array, what: string): void => {
      const want = text(float32BytesInScript(a));
      const got = text(float32Bytes(a));
      if (got !== want) {
        const at = [...got].findIndex((c, i) => c !== want[i]);
        assert.fail(`${what}: differs at ${at}: ${got.slice(Math.max(0, at - 40), at + 40)} vs ${want.slice(Math.max(0, at - 40), at + 40)}`);
      }
    };
    let seed = 2026;
    const next = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
    // Every thousandth from 0 to 20, and around the limit of the short path (8192), both signs.
    const thousandths: number[] = [];
    for (let k = 0; k <= 20_000; k++) thousandths.push(k / 1000, -k / 1000);
    for (let k = 8_190_000; k <= 8_192_500; k++) thousandths.push(k / 1000, -k / 1000);
    same(new Float32Array(thousandths), 'thousandths');
    same(new Float32Array([0, -0, NaN, Infinity, -Infinity, 8192, 8191.999, 8191.9995, 0.0005, 0.0015, 1e-45, -1e-45, 3.4028234663852886e38]), 'edges');
    same(new Float32Array(0), 'empty');
    for (const v of [0.5, -7, NaN, 1 / 3]) same(new Float32Array([v]), `one value ${v}`);
    // Random bit patterns (mostly not short: the writer's general path between the module's runs),
    // and short decimals with other values strewn in at random.
    const bits = new Uint32Array(100_000);
    for (let i = 0; i < bits.length; i++) bits[i] = (next() * 2 ** 32) >>> 0;
    same(new Float32Array(bits.buffer), 'random bits');
    same(new Float32Array(50_000).map(() => (next() < 0.9 ? Math.round((next() - 0.5) * 2e6) / 1000 : (next() - 0.5) * 1e4)), 'mixed');
    // A tensor past the memory the module keeps (8 MB), then a small one: a fresh module, its tables filled again.
    same(new Float32Array(400_000).map(() => Math.round(next() * 255) / 1000), 'large');
    same(new Float32Array([0.123, 4.5, -6]), 'small after large');
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
