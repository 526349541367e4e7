// context.ts (guard tests) — a CallContext for unit tests, with its abort controller, the deps a
// target's stages are built with, and the backend failures the guard stages tell apart.

import { silentLogger } from '../../src/observe/log.ts';
import { GatewayError } from '../../src/errors.ts';
import type { CallContext, Health, ModelEndpoint, TargetStageDeps } from '../../src/types.ts';

/** testContext gives a context whose deadline is `ms` away and whose signal the test controls. */
export function testContext(ms = 5_000): { ctx: CallContext; controller: AbortController; disconnect(): void } {
  const controller = new AbortController();
  const ctx: CallContext = {
    requestId: 'r1', signal: controller.signal, deadline: performance.now() + ms, forward: {}, headers: {},
    log: silentLogger, model: 'm',
  };
  return { ctx, controller, disconnect: () => controller.abort(new GatewayError('client_closed', 'the client closed the connection')) };
}

/**
 * modelContext is a context as the server hands it to a model's path: no deadline yet (the
 * deadline stage makes it), the client's signal, and the given request headers.
 */
export function modelContext(headers: Record<string, string> = {}): { ctx: CallContext; disconnect(): void } {
  const controller = new AbortController();
  const ctx: CallContext = {
    requestId: 'r1', signal: controller.signal, deadline: Infinity, forward: {}, headers, log: silentLogger, model: 'm',
  };
  return { ctx, disconnect: () => controller.abort(new GatewayError('client_closed', 'the client closed the connection')) };
}

/** targetDeps gives the deps of one target's stages; `health` is read on every call, as the poll writes it. */
export function targetDeps(target: string, health: () => Health = () => ({ ready: true }),
  endpoint: Partial<ModelEndpoint> = {}): TargetStageDeps {
  return {
    model: 'm', target, backend: 'a', log: silentLogger, health,
    endpoint: {
      infer: async () => okResponse,
      metadata: async () => ({ name: 'm', platform: 'test', inputs: [], outputs: [] }),
      health: async () => ({ ready: true }),
      ...endpoint,
    },
  };
}

/** refused is the error a backend gives when nothing listens (connect-phase, retryable). */
export function refused(): GatewayError {
  const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  return new GatewayError('backend_unreachable', 'backend a is unreachable (ECONNREFUSED)', { cause });
}

/** resetAfterSend is a reset once the request was written (not retryable). */
export function resetAfterSend(): GatewayError {
  const cause = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  return new GatewayError('backend_unreachable', 'backend a closed the connection', { cause });
}

export const okResponse = { predictions: [1] };
