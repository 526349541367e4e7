// endpoints.test.ts — the least-in-flight picker: fewest in flight wins, ties rotate, a URL that
// refused connections is avoided for the cooldown unless every URL is.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointPicker, pickerFor } from '../../../src/backends/shared/endpoints.ts';
import { GatewayError } from '../../../src/errors.ts';

// Calls in flight per URL, as /admin/status shows them.
const inFlight = (p: EndpointPicker): Record<string, number> => Object.fromEntries(Object.entries(p.status()).map(([u, s]) => [u, s.inFlight]));
import { silentLogger } from '../../../src/observe/log.ts';

describe('EndpointPicker', () => {
  test('sends each call to the URL with the fewest in flight', () => {
    const p = new EndpointPicker(['a', 'b', 'c']);
    const held = [p.acquire(), p.acquire(), p.acquire()];
    assert.deepEqual(held.map((l) => l.url).sort(), ['a', 'b', 'c']);
    held.find((l) => l.url === 'b')!.release();
    assert.equal(p.acquire().url, 'b');
    assert.deepEqual(inFlight(p), { a: 1, b: 1, c: 1 });
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
    assert.deepEqual(inFlight(p), { a: 0 });
  });

  test('avoids a failed URL during the cooldown, but uses it when all have failed', () => {
    const p = new EndpointPicker(['a', 'b'], { cooldownMs: 60_000 });
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

  test('with outlier detection: server failures eject, client errors and disconnects do not', () => {
    const p = pickerFor('b', ['a', 'b', 'c'], { consecutive5xx: 2, maxEjectionPercent: 50 }, silentLogger);
    p.record('a', new GatewayError('bad_request', 'client mistake'));
    p.record('a', new GatewayError('client_closed', 'gone'));
    p.record('a', new GatewayError('bad_request', 'client mistake'));
    assert.deepEqual(p.ejected(), []);
    p.record('a', new GatewayError('backend_error', '500'));
    p.recordStatus('a', 503);
    assert.deepEqual(p.ejected(), ['a']);
    for (let i = 0; i < 6; i++) {
      const l = p.acquire();
      assert.notEqual(l.url, 'a');
      l.release();
    }
    assert.deepEqual(p.status().a, { inFlight: 0, ejected: true });
  });

  test('a passing probe restores only what a failing probe ejected', () => {
    const p = pickerFor('b', ['a', 'b', 'c', 'd'], { consecutive5xx: 1, maxEjectionPercent: 50 }, silentLogger);
    p.record('a', new GatewayError('backend_unreachable', 'refused'));
    p.probed('a', true);
    assert.deepEqual(p.ejected(), ['a'], 'failing calls keep it out');
    p.probed('b', false, '/health answered 503');
    assert.deepEqual(p.ejected().sort(), ['a', 'b']);
    p.probed('b', true);
    assert.deepEqual(p.ejected(), ['a']);
  });

  test('one URL is never ejected: there is nowhere else to go', () => {
    const p = pickerFor('b', ['a'], { consecutive5xx: 1 }, silentLogger);
    p.record('a', new GatewayError('backend_error', '500'));
    assert.deepEqual(p.ejected(), []);
    assert.equal(p.acquire().url, 'a');
  });
});
