// The onnx backend reading SageMaker-style archives through the storage layer: a model.tar.gz
// holding a Triton-style repository (modelRepository), and one holding a lone model.onnx
// (modelPath), each unpacked into the cache and served.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { c as createTar } from 'tar';
import { onnx } from '../../src/backends/onnx/onnx.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { storageSchema } from '../../src/storage/schema.ts';
import { configureStorage } from '../../src/storage/store.ts';
import type { CallContext } from '../../src/types.ts';

const iris = fileURLToPath(new URL('../../backends/onnx/iris/1/model.onnx', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'storage-onnx-archive-'));
after(() => rmSync(work, { recursive: true, force: true }));
const ctx = (): CallContext => ({ requestId: 'r', signal: new AbortController().signal, deadline: Infinity, forward: {}, headers: {}, log: silentLogger, model: 'iris' });

it('serves a model.tar.gz repository (modelRepository) and a model.tar.gz holding model.onnx (modelPath)', async () => {
  mkdirSync(join(work, 'src', 'iris', '1'), { recursive: true });
  copyFileSync(iris, join(work, 'src', 'iris', '1', 'model.onnx'));
  await createTar({ gzip: true, file: join(work, 'repo.tar.gz'), cwd: join(work, 'src') }, ['iris']);
  await createTar({ gzip: true, file: join(work, 'single.tar.gz'), cwd: join(work, 'src', 'iris', '1') }, ['model.onnx']);
  configureStorage(storageSchema.parse({ cacheDir: join(work, 'cache') }));
  for (const config of [{ modelRepository: join(work, 'repo.tar.gz') }, { modelPath: join(work, 'single.tar.gz') }]) {
    const backend = onnx.create('local', onnx.schema.parse({ type: 'onnx', warmup: false, ...config }), { log: silentLogger });
    try {
      await backend.start();
      const res = await backend.model('iris').infer({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] }, ctx());
      assert.deepEqual((res.predictions as Array<{ label: number }>).map((p) => p.label), [0, 2], JSON.stringify(config));
    } finally {
      await backend.close();
    }
  }
});
