// scanInferResponse against parseJson + decodeInferResponse: the same answer for every v2 JSON
// answer it reads (FP32 data straight into Float32Arrays), undefined for what it leaves to
// parseJson (which then gives its own answer or refusal), and never an answer parseJson refuses.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson } from '../../src/codecs/json.ts';
import { scanInferResponse } from '../../src/codecs/v2-answer-scan.ts';
import { decodeInferResponse } from '../../src/codecs/v2-json.ts';

const decoded = (doc: unknown): unknown => {
  try {
    return decodeInferResponse(doc, 'backend "b"');
  } catch (err) {
    return { error: (err as Error).message };
  }
};

// same checks one answer: when the scan reads it, parseJson must accept it and both must decode
// alike. `scanned` says whether the scan should read it (undefined: either).
function same(text: string, scanned: boolean | undefined, label: string): void {
  const body = Buffer.from(text);
  const doc = scanInferResponse(body, 256);
  if (scanned !== undefined) assert.equal(doc !== undefined, scanned, `${label}: read by the scan?`);
  if (doc === undefined) return;
  let full: unknown;
  assert.doesNotThrow(() => { full = parseJson(body, { maxDepth: 256 }); }, `${label}: the scan read what parseJson refuses`);
  assert.deepEqual(decoded(doc), decoded(full), label);
}

let seed = 5;
const next = (): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed / 2 ** 32; };
// FP32 values widened to double, as Triton prints them: probabilities, logits, tiny and large ones.
const widened = (n: number): number[] => Array.from(new Float32Array(n).map(() => (next() - 0.3) * 10 ** ((next() * 16 - 10) | 0)));

describe('scanInferResponse', () => {
  it('reads a Triton answer\'s FP32 outputs as parseJson + fromJsonValues do, for any size', () => {
    same(JSON.stringify({ model_name: 'rows', model_version: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [64, 8], data: widened(512) }] }), true, '64x8');
    for (let k = 0; k < 200; k++) same(JSON.stringify({ model_name: 'm', outputs: [{ name: 'y', datatype: 'FP32', shape: [k], data: widened(k) }] }), true, `${k} values`);
    same(JSON.stringify({ outputs: [{ name: 'a', datatype: 'FP32', shape: [0], data: [] }] }), true, 'empty data');
    same('{ "outputs" : [ { "name" : "a" , "datatype" : "FP32" , "shape" : [ 3 ] , "data" : [ 1.5 , 2 ,\n 3e2 ] } ] }\n', true, 'white space');
  });

  it('reads the other members with parseJson: several outputs of other types, id, parameters', () => {
    same(JSON.stringify({
      outputs: [
        { name: 'a', datatype: 'FP32', shape: [3], data: [0.1, -2, 1e-7], parameters: { p: [1, { q: 'x' }] } },
        { name: 'i', datatype: 'INT64', shape: [2], data: [1, 2 ** 60] },
        { name: 's', datatype: 'BYTES', shape: [1], data: ['x"y\u00e9'] },
        { name: 'b', datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3, 4]] }, // nested: parseJson's
        { name: 'f', datatype: 'FP64', shape: [1], data: [0.1] },
      ],
      id: 'q\\"', parameters: { sequence_id: 3 },
    }), true, 'several outputs');
    same('{"outputs":[],"model_name":"m"}', true, 'no outputs');
    same('{}', true, 'empty object');
  });

  it('leaves to parseJson what it does not read exactly so', () => {
    // "datatype" after "data"; a number near a float32 rounding midpoint or out of range; null;
    // a repeated key; an escaped key; "__proto__"; bad JSON of every kind.
    const cases: Array<[string, string]> = [
      ['datatype after data', JSON.stringify({ outputs: [{ name: 'a', shape: [2], data: [1, 2], datatype: 'FP32' }] })],
      ['overflow', JSON.stringify({ outputs: [{ name: 'a', datatype: 'FP32', shape: [2], data: [1e39, 1] }] })],
      ['null', JSON.stringify({ outputs: [{ name: 'a', datatype: 'FP32', shape: [2], data: [null, 1] }] })],
      ['repeated key', '{"outputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}],"outputs":[]}'],
      ['repeated data', '{"outputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1],"data":[2]}]}'],
      ['escaped key', '{"out\\u0070uts":[]}'],
      ['__proto__', '{"__proto__":{"x":1},"outputs":[]}'],
      ['truncated', '{"outputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]'],
      ['trailing comma', '{"outputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1,]}]}'],
      ['leading zero', '{"outputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[01]}]}'],
      ['trailing bytes', '{"outputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1]}]} x'],
      ['not an object', '[1]'],
      ['outputs not an array', '{"outputs":{"a":1}}'],
    ];
    for (const [label, text] of cases) same(text, undefined, label);
    // A member it cannot read goes to parseJson alone (a repeated "data" inside an output: the
    // whole "outputs" array); at the top level, or bad JSON anywhere, the whole answer does.
    for (const label of ['repeated key', 'escaped key', '__proto__', 'truncated', 'trailing comma', 'leading zero', 'trailing bytes', 'not an object']) {
      assert.equal(scanInferResponse(Buffer.from(cases.find(([l]) => l === label)![1]), 256), undefined, label);
    }
  });

  it('a data array it stops inside (a number it cannot decide, a non-number) goes to parseJson alone, as parseJson reads it', () => {
    const answer = (data: string): string => `{"model_name":"m","outputs":[{"name":"a","datatype":"FP32","shape":[3],"data":${data}},{"name":"b","datatype":"FP32","shape":[1],"data":[2.5]}]}`;
    for (const data of ['[0.5, 1e-50, 0.25]', '[0.5, 3.4028235677973366e38, 0.25]', '[0.5, "x", 0.25]', '[0.5, null, 0.25]', '[0.5, true, 0.25]', '[0.5, 1e999, 0.25]', '[0.5, 0.25', '[0.5, -, 0.25]']) {
      same(answer(data), undefined, data);
    }
    // The array after it is still read: one decided, one left, in one answer.
    const doc = scanInferResponse(Buffer.from(answer('[0.5, 1e-50, 0.25]')), 256) as { outputs: Array<{ data: unknown }> };
    assert.deepEqual(doc.outputs.map((o) => o.data instanceof Float32Array), [false, true]);
  });

  it('holds parseJson\'s nesting limit', () => {
    for (const d of [250, 251, 252, 253, 254]) {
      const text = `{"outputs":[{"name":"a","datatype":"FP32","shape":[1],"data":[1],"parameters":{"p":${'['.repeat(d)}${']'.repeat(d)}}}]}`;
      let parsed = true;
      try { parseJson(Buffer.from(text), { maxDepth: 256 }); } catch { parsed = false; }
      assert.equal(scanInferResponse(Buffer.from(text), 256) !== undefined, parsed, `${d} levels`);
    }
  });
});
