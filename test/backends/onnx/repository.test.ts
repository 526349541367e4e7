import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findModels } from '../../../src/backends/onnx/repository.ts';
import { GatewayError } from '../../../src/errors.ts';

function badRequest(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof GatewayError && err.code === 'bad_request' && pattern.test(err.message);
}

describe('findModels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-repo-'));
  const put = (...parts: string[]): void => {
    mkdirSync(join(dir, ...parts.slice(0, -1)), { recursive: true });
    writeFileSync(join(dir, ...parts), 'x');
  };
  before(() => {
    put('iris', '1', 'model.onnx');
    put('iris', '2', 'model.onnx');
    put('iris', '10', 'model.onnx'); // numeric order: 10 is the highest
    put('iris', '11', 'other.onnx'); // no model.onnx: not a version
    put('iris', 'config.pbtxt');
    put('resnet', '3', 'model.onnx');
    put('data', 'iris.csv');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the highest version of each model by default', async () => {
    const found = await findModels({ modelRepository: dir });
    assert.deepEqual(found.map((f) => `${f.name}/${f.version}`), ['iris/10', 'resnet/3']);
    assert.equal(found[0]!.path, join(dir, 'iris', '10', 'model.onnx'));
  });

  it('loads pinned versions and refuses ones that do not exist', async () => {
    const found = await findModels({ modelRepository: dir, versions: { iris: ['1', '2'] } });
    assert.deepEqual(found.map((f) => `${f.name}/${f.version}`), ['iris/1', 'iris/2', 'resnet/3']);
    await assert.rejects(findModels({ modelRepository: dir, versions: { iris: ['11'] } }), badRequest(/no version 11 .*found 1, 2, 10/));
    await assert.rejects(findModels({ modelRepository: dir, versions: { bert: ['1'] } }), badRequest(/"bert", which is not in/));
  });

  it('refuses a missing or empty repository and a missing modelPath', async () => {
    await assert.rejects(findModels({ modelRepository: join(dir, 'nope') }), badRequest(/cannot be read/));
    await assert.rejects(findModels({ modelRepository: join(dir, 'data') }), badRequest(/holds no model.*<model>\/<version>\/model.onnx/));
    await assert.rejects(findModels({ modelPath: join(dir, 'nope.onnx') }), badRequest(/not a readable file/));
    await assert.rejects(findModels({}), badRequest(/modelRepository or modelPath/));
  });
});

// Remote repositories (gs://, s3://, …) are made local by the storage layer before findModels
// runs: test/storage/ and test/storage/gateway.test.ts (through the onnx backend).
