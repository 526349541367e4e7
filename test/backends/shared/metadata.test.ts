// metadata.test.ts — the metadata cache the triton, tfserving and torchserve backends share:
// one fetch for concurrent callers, the reason kept after a failure, a retry on the next call,
// a caller's abort that does not cancel the shared fetch, and config overrides laid on top.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyOverride, MetadataCache, metadataOverrideSchema, ModelTable } from '../../../src/backends/shared/metadata.ts';
import { silentLogger } from '../../../src/observe/log.ts';
import type { ModelEndpoint } from '../../../src/types.ts';
import { GatewayError } from '../../../src/errors.ts';
import type { ModelMetadata } from '../../../src/tensors/tensor.ts';

const meta: ModelMetadata = { name: 'm', platform: 'p', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [] };

describe('MetadataCache', () => {
  it('fetches once for concurrent callers and caches the answer', async () => {
    let calls = 0;
    const cache = new MetadataCache(async () => { calls++; await new Promise((r) => setTimeout(r, 10)); return meta; });
    const [a, b] = await Promise.all([cache.get(), cache.get()]);
    assert.equal(a, b);
    await cache.get();
    assert.equal(calls, 1);
    assert.equal(cache.known, a);
  });

  it('keeps the reason of a failure and retries on the next call', async () => {
    let fail = true;
    const cache = new MetadataCache(async () => {
      if (fail) throw new GatewayError('backend_error', 'backend "t" failed with 500: boom');
      return meta;
    });
    await assert.rejects(cache.get(), (err: unknown) => err instanceof GatewayError && err.code === 'backend_unavailable' && /boom/.test(err.message));
    assert.match(cache.failure!, /boom/);
    fail = false;
    assert.deepEqual(await cache.get(), meta);
    assert.equal(cache.failure, undefined);
  });

  it('maps a 404 to model_not_found', async () => {
    const cache = new MetadataCache(async () => { throw new GatewayError('not_found', 'no such model'); });
    await assert.rejects(cache.get(), (err: unknown) => err instanceof GatewayError && err.code === 'model_not_found');
  });

  it('lets one caller give up without cancelling the shared fetch', async () => {
    let release!: () => void;
    const cache = new MetadataCache(() => new Promise((r) => { release = () => r(meta); }));
    const controller = new AbortController();
    const waiting = cache.get(controller.signal);
    const other = cache.get();
    controller.abort(new GatewayError('deadline_exceeded', 'too slow'));
    await assert.rejects(waiting, (err: unknown) => err instanceof GatewayError && err.code === 'deadline_exceeded');
    release();
    assert.deepEqual(await other, meta);
  });

  it('lays configured fields over the fetched ones', async () => {
    const override = metadataOverrideSchema.parse({ m: { maxBatchSize: 4, outputs: [{ name: 'y', datatype: 'INT64', shape: [-1] }] } }).m;
    const cache = new MetadataCache(async () => meta, override);
    const got = await cache.get();
    assert.equal(got.maxBatchSize, 4);
    assert.deepEqual(got.inputs, meta.inputs);
    assert.deepEqual(got.outputs, [{ name: 'y', datatype: 'INT64', shape: [-1] }]);
    assert.equal(applyOverride(meta, undefined), meta);
    assert.throws(() => metadataOverrideSchema.parse({ m: { inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1] }] } }), /v2 datatype/);
  });
});

describe('metadata refresh (reload) and the model table', () => {
  const meta = (name: string, n: number): ModelMetadata => ({ name, platform: 'x', inputs: [{ name: `in${n}`, datatype: 'FP32', shape: [-1, n] }], outputs: [] });

  it('refresh fetches again and replaces the cached metadata; a failed refresh keeps it', async () => {
    let n = 0;
    let fail = false;
    const cache = new MetadataCache(async () => {
      if (fail) throw new GatewayError('backend_unreachable', 'down');
      return meta('m', ++n);
    });
    assert.equal((await cache.get()).inputs[0]!.name, 'in1');
    await cache.refresh();
    assert.equal((await cache.get()).inputs[0]!.name, 'in2');
    fail = true;
    await assert.rejects(cache.refresh(), /down/);
    assert.equal((await cache.get()).inputs[0]!.name, 'in2', 'the cached metadata survives a failed refresh');
  });

  it('the table makes one endpoint per model and version, prefetches at start, refreshes all', async () => {
    const loads: string[] = [];
    const table = new ModelTable('b', silentLogger);
    const make = (model: string) => () => {
      const cache = new MetadataCache(async () => { loads.push(model); return meta(model, loads.length); });
      return { cache, endpoint: { metadata: () => cache.get() } as unknown as ModelEndpoint };
    };
    const e1 = table.endpoint('a', undefined, make('a'));
    assert.equal(table.endpoint('a', undefined, make('a')), e1, 'the same endpoint for the same model and version');
    assert.notEqual(table.endpoint('a', '2', make('a@2')), e1);
    assert.deepEqual(loads, [], 'nothing fetched before start');
    table.start();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual([...loads].sort(), ['a', 'a@2']);
    table.endpoint('c', undefined, make('c'));
    await new Promise((r) => setTimeout(r, 10));
    assert.ok(loads.some((l) => l === 'c'), 'an endpoint made after start is fetched at once');
    await table.refresh();
    assert.equal(loads.length, 6, 'refresh fetched every model again');
    assert.equal(table.firstModel(), 'a');
  });

  it('forget drops one model version: its metadata is fetched again when it is made again, the rest stay', async () => {
    const loads: string[] = [];
    const table = new ModelTable('b', silentLogger);
    const make = (label: string) => () => {
      const cache = new MetadataCache(async () => { loads.push(label); return meta(label, loads.length); });
      return { cache, endpoint: { metadata: () => cache.get() } as unknown as ModelEndpoint };
    };
    const v1 = table.endpoint('a', '1', make('a@1'));
    const v2 = table.endpoint('a', '2', make('a@2'));
    table.start();
    await new Promise((r) => setTimeout(r, 10));
    table.forget('a', '1');
    table.forget('a', '9'); // never made: nothing happens
    assert.equal(table.endpoint('a', '2', make('a@2 again')), v2, 'the other version is kept');
    const again = table.endpoint('a', '1', make('a@1 again'));
    assert.notEqual(again, v1, 'a forgotten version is made anew');
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual([...loads].sort(), ['a@1', 'a@1 again', 'a@2']);
    await table.refresh();
    assert.equal(loads.filter((l) => l === 'a@1').length, 1, 'refresh no longer fetches the forgotten endpoint');
  });
});
