// wait-for.ts (test support) — polls a condition until it holds, failing the test when it does
// not hold in time. (test/faults/load.ts has a waitFor that reports instead of failing.)

import assert from 'node:assert/strict';

/** waitFor checks every 50 ms until check() is true; the test fails after timeoutMs. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`condition not met within ${timeoutMs} ms`);
}
