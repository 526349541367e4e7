// backend-calls.ts (test support) — what the backend tests against the fake model servers
// (test/backends/tfserving.test.ts, torchserve.test.ts) call a backend with and check its answers
// by: a call context, the fakes' linear-model rows, and checks on errors and floats.

import assert from 'node:assert/strict';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { CallContext } from '../../src/types.ts';

/** context is a call for model "linear" with a 10 s signal and no deadline. */
export function context(): CallContext {
  return { requestId: 'r1', signal: AbortSignal.timeout(10_000), deadline: Infinity, headers: {}, log: silentLogger, model: 'linear', forward: { 'x-request-id': 'r1' } };
}

/** rejectsWith checks that p rejects with a GatewayError of this code, status and message. */
export async function rejectsWith(p: Promise<unknown>, code: string, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof GatewayError, String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.status, status);
    assert.match(err.message, message);
    return true;
  });
}

/** rows are two inputs of the fakes' linear model (4 numbers each). */
export const rows = [[1, 2, 3, 4], [0.5, -1, 2, 8]];

/** near checks two matrices agree to 1e-5 (the fakes compute in float32). */
export const near = (a: number[][], b: number[][]): void =>
  a.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - b[i]![j]!) < 1e-5, `[${i}][${j}] ${v} vs ${b[i]![j]}`)));
