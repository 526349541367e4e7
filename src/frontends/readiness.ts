// readiness.ts — what every frontend's health route answers: the gateway's readiness, as the
// platform's probe must see it (200 only when ready).

import { GatewayError } from '../errors.ts';
import type { FrontendDeps, HttpReply } from '../types.ts';

/** readinessReply answers a health route: 200 when the gateway is ready, else 503 not_ready. */
export function readinessReply(deps: FrontendDeps, body?: unknown): HttpReply {
  if (!deps.ready()) throw new GatewayError('not_ready', 'the gateway is not ready: a served model is starting, down, or the gateway is draining');
  return { status: 200, body };
}
