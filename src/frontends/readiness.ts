// readiness.ts — what every frontend's health route answers: the gateway's readiness, as the
// platform's probe must see it (200 only when ready), what a per-model ready route answers, and
// while a model downloads, how far it got.

import { GatewayError } from '../errors.ts';
import { fetchInProgress } from '../storage/progress.ts';
import type { FrontendDeps, HttpReply, ModelHandle } from '../types.ts';

/** readinessReply answers a health route: 200 when the gateway is ready, else 503 not_ready. */
export function readinessReply(deps: FrontendDeps, body?: unknown): HttpReply {
  if (deps.ready()) return { status: 200, body };
  // A model still arriving from storage says how far it got, so a long start never looks like a hang.
  const arriving = fetchInProgress();
  throw new GatewayError('not_ready', arriving === undefined ? 'the gateway is not ready: a served model is starting, down, or the gateway is draining'
    : `the gateway is not ready: ${arriving}`);
}

/**
 * modelReadiness throws unless a model (or version) is ready now: 404 model_not_found for a
 * version its backend does not serve (the metadata call says so), 503 not_ready with the reason
 * otherwise. Every platform's per-model route answers through it.
 */
export async function modelReadiness(handle: ModelHandle): Promise<void> {
  const health = handle.health === undefined ? { ready: handle.ready() } : await handle.health();
  if (health.ready) return;
  const what = `model "${handle.name}"${handle.version === undefined ? '' : ` version "${handle.version}"`}`;
  if (handle.version !== undefined) await handle.metadata();
  throw new GatewayError('not_ready', `${what} is not ready${health.reason === undefined ? '' : `: ${health.reason}`}`);
}
