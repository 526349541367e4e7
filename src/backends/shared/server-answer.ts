// server-answer.ts — a server's answer as the backends read it: its status, headers and body
// (or, when streamed, its unread body), the message in a failed one, and the mapping of a failed
// status to the gateway's error codes, the same for every backend.

import type { Readable } from 'node:stream';
import { clip, GatewayError } from '../../errors.ts';

export interface ServerAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** A 2xx answer the caller asked to stream (SendOptions.streamWhen): its body, unread; `body` is then empty. */
  stream?: Readable;
}

/**
 * errorText reads the message of a `{"error": "..."}` body (KServe v2, TF Serving), of
 * `{"error": {"message": "..."}}` (OpenAI-compatible servers), or TorchServe's `message`.
 */
export function errorText(body: Buffer): string | undefined {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { error?: unknown; message?: unknown };
    const nested = (doc.error as { message?: unknown } | null | undefined)?.message;
    const msg = typeof doc.error === 'string' ? doc.error : typeof nested === 'string' ? nested : typeof doc.message === 'string' ? doc.message : undefined;
    return msg === undefined ? undefined : clip(msg, 500);
  } catch {
    return undefined;
  }
}

/**
 * statusError is the common mapping of a failed answer: the client's mistakes (4xx) keep the
 * server's status and message; server failures (5xx) become 502 backend_error; 429 stays 429.
 */
export function statusError(answer: ServerAnswer, where: string): GatewayError {
  const { status } = answer;
  const message = errorText(answer.body);
  const retry = retryAfterOf(answer);
  if (status === 429) return new GatewayError('backend_overloaded', message ?? `${where} is overloaded`, retry);
  if (status === 503) return new GatewayError('backend_unavailable', `${where} is unavailable (503)${message === undefined ? '' : `: ${message}`}`, retry);
  if (status >= 400 && status < 500) {
    const code = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : 'bad_request';
    return new GatewayError(code, message ?? `${where} answered ${status}`, { status });
  }
  return new GatewayError('backend_error', `${where} failed with ${status}${message === undefined ? '' : `: ${message}`}`);
}

/** retryAfterOf gives the server's Retry-After seconds as error options, when it sent one. */
export function retryAfterOf(answer: ServerAnswer): { retryAfter?: number } {
  const v = Number(answer.headers['retry-after']);
  return Number.isFinite(v) && v > 0 ? { retryAfter: v } : {};
}

/** headerOf reads a single-valued header of an answer. */
export function headerOf(answer: ServerAnswer, name: string): string | undefined {
  const v = answer.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
