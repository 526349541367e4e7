// tfserving.test.ts — TF Serving REST bodies against api_rest.md's own examples
// (test/fixtures/tfserving), the NaN / Infinity tokens it writes, and malformed answers.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  decodePredictResponse, decodeSignature, decodeStatus, encodePredictRequest, parseTfJson, stringifyTfJson,
} from '../../src/codecs/tfserving.ts';
import { GatewayError } from '../../src/errors.ts';
import { throwsGatewayError as rejects } from '../support/expect-error.ts';
import type { Tensor } from '../../src/tensors/tensor.ts';

const text = (name: string): string => readFileSync(new URL(`../fixtures/tfserving/${name}`, import.meta.url), 'utf8');


describe('parseTfJson', () => {
  it('reads NaN, Infinity and -Infinity tokens as numbers', () => {
    const doc = parseTfJson('{"predictions": [NaN, Infinity, -Infinity, 1.5, [NaN]]}') as { predictions: unknown[] };
    assert.ok(Number.isNaN(doc.predictions[0]));
    assert.equal(doc.predictions[1], Infinity);
    assert.equal(doc.predictions[2], -Infinity);
    assert.equal(doc.predictions[3], 1.5);
    assert.ok(Number.isNaN((doc.predictions[4] as number[])[0]));
  });

  it('leaves the words inside strings alone', () => {
    const doc = parseTfJson('{"a": "NaN and -Infinity \\" Infinity", "b": NaN}') as { a: string; b: number };
    assert.equal(doc.a, 'NaN and -Infinity " Infinity');
    assert.ok(Number.isNaN(doc.b));
  });

  it('still rejects text that is not JSON', () => {
    rejects(() => parseTfJson('{"a": nan}'), 'invalid_json', /not valid JSON/);
    rejects(() => parseTfJson('{"a": NaN'), 'invalid_json', /not valid JSON/);
    rejects(() => parseTfJson('{"a": 1,}'), 'invalid_json', /not valid JSON/);
  });

  it('writes non-finite floats back as tokens', () => {
    const t: Tensor = { name: 'x', datatype: 'FP32', shape: [3], data: new Float32Array([NaN, Infinity, -Infinity]) };
    const body = stringifyTfJson(encodePredictRequest({ inputs: [t] }));
    assert.equal(body, '{"inputs":{"x":[NaN,Infinity,-Infinity]}}');
    const back = parseTfJson(body) as { inputs: { x: number[] } };
    assert.equal(back.inputs.x[1], Infinity);
  });
});

describe('TF Serving predict bodies', () => {
  it('sends rows as they came, with signature_name', () => {
    const rows = (JSON.parse(text('predict-row.json')) as { instances: unknown[] }).instances;
    const body = encodePredictRequest({ instances: rows }, 'serving_default');
    assert.deepEqual(body, { signature_name: 'serving_default', instances: [[[1, 2]], [[3, 4]]] });
  });

  it('sends tensors in columnar form, nested per shape', () => {
    const inputs: Tensor[] = [
      { name: 'tag', datatype: 'BYTES', shape: [2], data: [Buffer.from('foo'), Buffer.from('bar')] },
      { name: 'signal', datatype: 'INT32', shape: [2, 5], data: new Int32Array([1, 2, 3, 4, 5, 3, 4, 1, 2, 5]) },
      { name: 'sensor', datatype: 'INT32', shape: [2, 2, 2], data: new Int32Array([1, 2, 3, 4, 4, 5, 6, 8]) },
      { name: 'blob', datatype: 'BYTES', shape: [1], data: [new Uint8Array([0xff, 0xfe])] },
    ];
    const body = encodePredictRequest({ inputs });
    const expected = JSON.parse(text('predict-columnar.json'));
    expected.inputs.blob = [{ b64: '//4=' }];
    assert.deepEqual(body, expected);
  });

  it('reads row answers and checks one prediction per instance', () => {
    const doc = parseTfJson(text('half-plus-three-response.json'));
    assert.deepEqual(decodePredictResponse(doc, 'backend "tf"', { rows: 3 }), { predictions: [3.5, 4, 5.5] });
    rejects(() => decodePredictResponse(doc, 'backend "tf"', { rows: 2 }), 'backend_bad_reply', /backend "tf".*3 predictions for 2 instances/);
    rejects(() => decodePredictResponse({ outputs: [] }, 'backend "tf"', { rows: 2 }), 'backend_bad_reply', /"predictions"/);
  });

  it('reads columnar answers: named map, single value, b64 and typed by the signature', () => {
    const specs = [{ name: 'y', datatype: 'FP32' as const, shape: [-1, 2] }, { name: 'label', datatype: 'BYTES' as const, shape: [-1] }];
    const res = decodePredictResponse({ outputs: { y: [[1, NaN], [3, 4]], label: [{ b64: 'AAE=' }, 'cat'] } }, 'b', { outputs: specs });
    assert.ok('outputs' in res);
    const [y, label] = res.outputs;
    assert.deepEqual(y!.shape, [2, 2]);
    assert.ok(y!.data instanceof Float32Array);
    assert.ok(Number.isNaN((y!.data as Float32Array)[1]));
    assert.deepEqual([...(label!.data as Uint8Array[])[0]!], [0, 1]);
    const single = decodePredictResponse({ outputs: [[0.5], [1.5]] }, 'b', { outputs: [specs[0]!] });
    assert.ok('outputs' in single);
    assert.equal(single.outputs[0]!.name, 'y');
    assert.deepEqual(single.outputs[0]!.shape, [2, 1]);
    rejects(() => decodePredictResponse({ outputs: [[1], [2, 3]] }, 'backend "tf"', { outputs: [specs[0]!] }), 'backend_bad_reply', /instance 1/);
    rejects(() => decodePredictResponse({ outputs: [1] }, 'backend "tf"', { outputs: specs }), 'backend_bad_reply', /single value/);
  });
});

describe('TF Serving status and metadata', () => {
  it('is ready when a version is AVAILABLE', () => {
    assert.deepEqual(decodeStatus(JSON.parse(text('status.json')), 'b'), { ready: true });
    const loading = decodeStatus({ model_version_status: [{ version: '1', state: 'LOADING', status: { error_message: '' } }] }, 'backend "tf"');
    assert.equal(loading.ready, false);
    assert.match(loading.reason!, /version 1 is LOADING/);
    assert.equal(decodeStatus({}, 'b').ready, false);
  });

  it('reads the signature into v2 specs', () => {
    const meta = decodeSignature(JSON.parse(text('metadata-half-plus-two.json')), 'half', 'serving_default', 'b');
    assert.deepEqual(meta.inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }]);
    assert.deepEqual(meta.outputs, [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }]);
    assert.deepEqual(meta.versions, ['123']);
    rejects(() => decodeSignature(JSON.parse(text('metadata-half-plus-two.json')), 'half', 'other', 'backend "tf"'),
      'backend_bad_reply', /no signature "other".*"serving_default"/);
    rejects(() => decodeSignature({}, 'half', 'serving_default', 'backend "tf"'), 'backend_bad_reply', /signature_def/);
  });
});

describe('stringifyTfJson and strings', () => {
  it('never turns a string a client sent into a bare token', () => {
    const t: Tensor = { name: 's', datatype: 'BYTES', shape: [2], data: [Buffer.from('\u0000tf:NaN'), Buffer.from('NaN')] };
    const body = stringifyTfJson(encodePredictRequest({ inputs: [t] }));
    assert.deepEqual(JSON.parse(body), { inputs: { s: ['\u0000tf:NaN', 'NaN'] } });
  });
});
