// forget.ts — what Backend.forget must do for a backend that keeps one endpoint per model version
// (triton, tfserving): drop that version's endpoint and cached metadata, and nothing else.

import assert from 'node:assert/strict';
import type { Backend } from '../../src/types.ts';

/** assertForgets checks forget on model `linear` version 1, counting GETs of its metadata URL among `calls`. */
export async function assertForgets(b: Backend, calls: Array<{ method: string; url: string }>, metadataUrl: string): Promise<void> {
  const first = b.model('linear', '1');
  assert.equal(b.model('linear', '1'), first, 'one endpoint per model and version');
  calls.length = 0;
  await first.metadata();
  await first.metadata();
  const fetches = (): number => calls.filter((c) => c.method === 'GET' && c.url === metadataUrl).length;
  assert.equal(fetches(), 1, 'metadata is cached while the endpoint lives');
  const other = b.model('linear');
  b.forget!('linear', '1');
  assert.equal(b.model('linear'), other, 'other versions are kept');
  const again = b.model('linear', '1');
  assert.notEqual(again, first);
  assert.deepEqual((await again.metadata()).inputs, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]);
  assert.equal(fetches(), 2, 'the new endpoint fetched its metadata');
}
