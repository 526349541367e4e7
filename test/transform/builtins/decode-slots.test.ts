// The bound on decodes at once: never more than its size run, the rest go in order, and a
// failed job frees its slot.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeSlots } from '../../../src/transform/builtins/decode-slots.ts';

test('at most `size` jobs run at once; the others start in order as slots free up', async () => {
  const slots = new DecodeSlots(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const job = (i: number) => async (): Promise<number> => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return i;
  };
  const results = await Promise.all([0, 1, 2, 3, 4].map((i) => slots.run(job(i))));
  assert.deepEqual(results, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
});

test('a job that fails frees its slot for the next', async () => {
  const slots = new DecodeSlots(1);
  await assert.rejects(slots.run(async () => { throw new Error('corrupt'); }), /corrupt/);
  assert.equal(await slots.run(async () => 'next'), 'next');
});
