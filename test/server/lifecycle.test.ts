// lifecycle.test.ts — shutdown: not-ready first, then stop accepting after the delay, let
// in-flight requests finish within the drain time (cut them after it), close the backends,
// exit 0; a second signal exits at once with 1.

import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { test } from 'node:test';
import { silentLogger } from '../../src/observe/log.ts';
import { installSignalHandlers, shutdown, type LifecycleDeps } from '../../src/server/lifecycle.ts';

// fakeServer closes once its in-flight requests end (after closeMs), as http.Server.close does.
function fakeServer(events: string[], closeMs: number): Server {
  let done: (() => void) | undefined;
  return {
    close(cb: () => void) { events.push('close'); done = cb; if (closeMs >= 0) setTimeout(() => done?.(), closeMs); },
    closeIdleConnections() {},
    closeAllConnections() { events.push('closeAll'); done?.(); },
  } as unknown as Server;
}

const deps = (events: string[], over: Partial<LifecycleDeps>): LifecycleDeps => ({
  servers: [], drainSeconds: 1, drainDelaySeconds: 0, log: silentLogger,
  startDraining: () => events.push('draining'),
  closeBackends: async () => { events.push('backends'); },
  ...over,
});

test('shutdown: draining first, then the servers close, then the backends; exit code 0', async () => {
  const events: string[] = [];
  const code = await shutdown(deps(events, { servers: [fakeServer(events, 10)], drainDelaySeconds: 0.02 }), 'SIGTERM');
  assert.equal(code, 0);
  assert.deepEqual(events, ['draining', 'close', 'backends']);
});

test('shutdown: requests still running when the drain time is up are cut; a failing backend close still exits 0', async () => {
  const events: string[] = [];
  const started = performance.now();
  const code = await shutdown(deps(events, {
    servers: [fakeServer(events, -1)], drainSeconds: 0.1,
    closeBackends: async () => { events.push('backends'); throw new Error('stuck'); },
  }), 'SIGINT');
  assert.equal(code, 0);
  assert.deepEqual(events, ['draining', 'close', 'closeAll', 'backends']);
  assert.ok(performance.now() - started < 1000, 'the drain time bounds the wait');
});

test('SIGTERM shuts down and exits 0; a second signal exits 1 at once; the handlers can be removed', async () => {
  const events: string[] = [];
  const exits: number[] = [];
  const before = process.listenerCount('SIGTERM');
  const remove = installSignalHandlers(deps(events, { servers: [fakeServer(events, 20)], exit: (c) => exits.push(c) }));
  try {
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(exits, [1]);
    while (exits.length < 2) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(exits, [1, 0]);
  } finally {
    remove();
  }
  assert.equal(process.listenerCount('SIGTERM'), before);
});
