// model-call.ts — from a model name to its answer: the name a client chose checked, the model
// looked up (404 naming what is served), and the call made with the request's context.

import { isName } from '../config/names.ts';
import { clip, GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { FrontendDeps, HttpRequest, ModelHandle } from '../types.ts';

/** lookupModel resolves a model (and version) or throws 404 model_not_found naming what exists. */
export function lookupModel(deps: FrontendDeps, name: string, version?: string): ModelHandle {
  const handle = deps.models(name, version);
  if (handle !== undefined) return handle;
  if (version !== undefined && deps.models(name) !== undefined) {
    throw new GatewayError('model_not_found', `model "${name}" has no version "${version}" here`);
  }
  const names = deps.modelNames();
  const list = names.length === 0 ? 'none' : names.slice(0, 20).map((n) => `"${n}"`).join(', ') + (names.length > 20 ? ', …' : '');
  throw new GatewayError('model_not_found', `model "${clip(name, 80)}" is not served here; models: ${list}`);
}

/** checkName throws bad_name unless a client-supplied name (from a header) is a strict model name. */
export function checkName(value: string, what: string): string {
  if (!isName(value)) {
    throw new GatewayError('bad_name', `${what} ${JSON.stringify(clip(value, 80))} is not a model name (letters, digits, "_", "." and "-", at most 128)`);
  }
  return value;
}

/**
 * callModel runs the model with the request's context; the headers carry x-infergate-target.
 * The frontend's response limit goes with the call, so a backend reads no more than it; so does
 * the platform's own timeout (maxCallMs), as an outer deadline the deadline stage keeps when it
 * comes before the model's timeoutMs.
 */
export async function callModel(http: HttpRequest, handle: ModelHandle, request: InferRequest,
  limit?: { maxResponseBytes: number; maxCallMs?: number }): Promise<{ response: InferResponse; headers: Record<string, string> }> {
  if (limit !== undefined) http.call.maxResponseBytes = limit.maxResponseBytes;
  if (limit?.maxCallMs !== undefined) http.call.deadline = Math.min(http.call.deadline, performance.now() + limit.maxCallMs);
  const response = await handle.infer(request, http.call);
  const headers: Record<string, string> = {};
  if (http.call.target !== undefined) headers['x-infergate-target'] = http.call.target;
  return { response, headers };
}
