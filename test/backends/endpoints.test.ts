// endpoints.test.ts — the least-in-flight picker: fewest in flight wins, ties rotate, a URL that
// refused connections is avoided for the cooldown unless every URL is.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPicker } from '../../src/backends/endpoints.ts';

describe('EndpointPicker', () => {
  test('sends each call to the URL with the fewest in flight', () => {
    const p = new EndpointPicker(['a', 'b', 'c']);
    const held = [p.acquire(), p.acquire(), p.acquire()];
    assert.deepEqual(held.map((l) => l.url).sort(), ['a', 'b', 'c']);
    held.find((l) => l.url === 'b')!.release();
    assert.equal(p.acquire().url, 'b');
    assert.deepEqual(p.inFlight(), { a: 1, b: 1, c: 1 });
  });

  test('rotates among ties instead of piling on the first URL', () => {
    const p = new EndpointPicker(['a', 'b']);
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const l = p.acquire();
      seen.push(l.url);
      l.release();
    }
    assert.deepEqual(seen, ['a', 'b', 'a', 'b']);
  });

  test('release is idempotent', () => {
    const p = new EndpointPicker(['a']);
    const l = p.acquire();
    l.release();
    l.release();
    assert.deepEqual(p.inFlight(), { a: 0 });
  });

  test('avoids a failed URL during the cooldown, but uses it when all have failed', () => {
    const p = new EndpointPicker(['a', 'b'], 60_000);
    p.markFailed('a');
    for (let i = 0; i < 3; i++) {
      const l = p.acquire();
      assert.equal(l.url, 'b');
      l.release();
    }
    p.markFailed('b');
    const l = p.acquire();
    assert.ok(['a', 'b'].includes(l.url));
  });

  test('refuses an empty list', () => {
    assert.throws(() => new EndpointPicker([]));
  });
});
