// link.ts — one request/answer with a model server, for every backend that calls URLs (http,
// triton, tfserving, torchserve): pick a URL (fewest in flight), send over the shared undici
// pool with the call's signal and forwarded headers, read the answer up to a byte cap (the body
// is always consumed or destroyed), time it, and map transport failures to GatewayErrors in one
// place; plus the status mapping and schema fields these backends share.

import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { duration, size } from '../../config/units.ts';
import { GatewayError, toGatewayError } from '../../errors.ts';
import { backendDuration } from '../../observe/metrics.ts';
import type { CallContext, Health } from '../../types.ts';
import { answerCap, collectAnswer } from './answer-collector.ts';
import { answerBudget, type ByteBudget } from './budget.ts';
import { parserFailure, poolFor } from './client.ts';
import { pickerFor, type EndpointLease, type EndpointPicker } from './endpoints.ts';
import { outlierDetectionSchema } from './outlier.ts';
import type { ServerAnswer } from './server-answer.ts';

export type { ServerAnswer } from './server-answer.ts';
export { errorText, headerOf, retryAfterOf, statusError } from './server-answer.ts';

export { oneOfUrl, serverFields } from './link.schema.ts';

/** ServerAnswer is a model server's whole answer, read into memory. */

/** errorBodyBytes caps what is read of a failed answer: it is only read for its message. */
export const errorBodyBytes = 64 * 1024;

export interface SendOptions {
  method: 'GET' | 'POST';
  path: string;
  /** Parts are written in order, uncopied, under a content-length of their sum. */
  body?: Buffer | string | readonly Uint8Array[];
  headers?: Record<string, string>;
  /** The client call, for its signal, forwarded headers and metrics; absent for probes. */
  ctx?: CallContext;
  signal?: AbortSignal;
  /** Says from a 2xx answer's headers whether its body is streamed to the caller instead of read. */
  streamWhen?(headers: ServerAnswer['headers']): boolean;
}

/** ServerLink sends requests to one backend's server (one or several replicas). */
export class ServerLink {
  readonly name: string;
  readonly urls: string[];
  #picker: EndpointPicker;
  #maxBytes: number;
  #poolOptions: { connectTimeoutMs: number };
  /** Each URL's base path, parsed once (a `new URL` per call showed in the hot path's profile). */
  #basePaths: Map<string, string>;

  constructor(name: string, config: {
    url?: string | undefined; urls?: string[] | undefined; connectTimeoutMs: number; maxResponseBytes: number;
    outlierDetection?: Partial<z.infer<typeof outlierDetectionSchema>> | undefined;
  }, log: Logger) {
    this.name = name;
    this.urls = config.urls ?? [config.url!];
    this.#picker = pickerFor(name, this.urls, config.outlierDetection, log);
    this.#basePaths = new Map(this.urls.map((u) => [u, new URL(u).pathname.replace(/\/+$/, '')]));
    this.#maxBytes = config.maxResponseBytes;
    this.#poolOptions = { connectTimeoutMs: config.connectTimeoutMs };
  }

  /**
   * send makes one request and reads the whole answer; transport failures become GatewayErrors.
   * The answer's status is what outlier detection and the duration metric see (5xx count).
   */
  async send(opts: SendOptions): Promise<ServerAnswer> {
    const lease = this.#picker.acquire();
    try {
      return await this.#sendTo(lease.url, opts);
    } finally {
      lease.release();
    }
  }

  /**
   * exchange is send with the answer checked inside the call: what `read` gives is returned, and
   * what it throws is the call's outcome for outlier detection and the duration metric, as a
   * transport failure is (a malformed 200 counts against the URL; a client's 4xx does not).
   */
  async exchange<T>(opts: SendOptions, read: (answer: ServerAnswer) => T): Promise<T> {
    const lease = this.#picker.acquire();
    let stream: Readable | undefined;
    try {
      return await this.#sendTo(lease.url, opts, (answer) => {
        stream = answer.stream;
        return read(answer);
      });
    } catch (err) {
      stream?.destroy();
      throw err;
    } finally {
      // A streamed answer keeps its URL leased (in flight) until its body is done.
      if (stream !== undefined && !stream.destroyed) stream.once('close', () => lease.release());
      else lease.release();
    }
  }

  /** lease picks a URL for a caller that talks to it directly (a raw stream); release it when done. */
  lease(): EndpointLease { return this.#picker.acquire(); }

  /**
   * probe asks every URL at once (a health check): each answer ejects or restores its URL for
   * outlier detection, and the server is ready when any URL is. `down` says why an answer is not
   * healthy, or gives undefined when it is.
   */
  async probe(path: string, down: (answer: ServerAnswer) => string | undefined, signal?: AbortSignal): Promise<Health> {
    const where = `backend "${this.name}"`;
    const failures = await Promise.all(this.urls.map(async (url): Promise<string | undefined> => {
      let reason: string | undefined;
      try {
        reason = down(await this.#sendTo(url, { method: 'GET', path, ...(signal === undefined ? {} : { signal }) }));
      } catch (err) {
        reason = (err as Error).message;
      }
      if (this.urls.length > 1) this.#picker.probed(url, reason === undefined, reason);
      return reason === undefined ? undefined : this.urls.length > 1 ? `${url}: ${reason}` : reason;
    }));
    const failed = failures.filter((f) => f !== undefined);
    return failed.length < this.urls.length ? { ready: true } : { ready: false, reason: `${where}: ${failed.join('; ')}` };
  }

  /** endpoints gives each URL's calls in flight and whether it is ejected. */
  endpoints(): Record<string, { inFlight: number; ejected: boolean }> { return this.#picker.status(); }

  #sendTo(url: string, opts: SendOptions): Promise<ServerAnswer>;
  #sendTo<T>(url: string, opts: SendOptions, read: (answer: ServerAnswer) => T): Promise<T>;
  async #sendTo<T>(url: string, opts: SendOptions, read?: (answer: ServerAnswer) => T): Promise<T | ServerAnswer> {
    const started = performance.now();
    const signal = opts.ctx?.signal ?? opts.signal ?? AbortSignal.timeout(5000);
    let outcome = 'ok';
    // The answer's bytes taken from the process budget: given back when the call is done with
    // them (read, and checked by `read` for exchange).
    const held = { bytes: 0 };
    try {
      const request: Dispatcher.DispatchOptions = {
        path: this.#basePaths.get(url)! + opts.path, method: opts.method,
        headers: { ...opts.ctx?.forward, ...opts.headers, ...(Array.isArray(opts.body) ? { 'content-length': String(partsLength(opts.body)) } : {}) },
        // undici writes an iterable body chunk by chunk (client-h1 writeIterable, as fetch uses
        // it), though its dispatch types list only single-buffer bodies.
        ...(opts.body === undefined ? {} : { body: opts.body as Buffer }),
      };
      const where = `backend "${this.name}"`;
      const pool = poolFor(url, this.#poolOptions);
      let answer: ServerAnswer;
      if (opts.streamWhen === undefined) {
        // Never streamed to the caller: read off the dispatch, without request()'s body stream.
        answer = await collectAnswer(pool, request, {
          maxBytes: this.#maxBytes, errorBytes: errorBodyBytes, callMax: opts.ctx?.maxResponseBytes, where, budget: answerBudget, held, signal,
        });
      } else {
        const res = await pool.request({ ...request, signal });
        const ok = res.statusCode >= 200 && res.statusCode < 300;
        if (ok && read !== undefined && opts.streamWhen(res.headers)) {
          // The first byte is in: from here the caller reads, and the call counts as answered.
          const value = read({ status: res.statusCode, headers: res.headers, body: Buffer.alloc(0), stream: res.body });
          this.#picker.record(url);
          return value;
        }
        const body = await readCapped(res, ok ? this.#maxBytes : errorBodyBytes, where, { callMax: opts.ctx?.maxResponseBytes, budget: answerBudget, held, signal });
        answer = { status: res.statusCode, headers: res.headers, body };
      }
      const ok = answer.status >= 200 && answer.status < 300;
      if (read !== undefined) {
        const value = read(answer);
        this.#picker.record(url);
        return value;
      }
      if (!ok) outcome = String(answer.status);
      this.#picker.recordStatus(url, answer.status);
      return answer;
    } catch (err) {
      const reason: unknown = signal.aborted ? signal.reason : undefined;
      const e = reason instanceof GatewayError ? reason : toGatewayError(parserFailure(err), `backend "${this.name}" (${url})`);
      if (e.code === 'backend_unreachable') this.#picker.markFailed(url);
      this.#picker.record(url, e);
      outcome = e.code;
      throw e;
    } finally {
      answerBudget.give(held.bytes);
      if (opts.ctx !== undefined) {
        backendDuration.at(this.name, opts.ctx.target ?? '', outcome).observe((performance.now() - started) / 1000);
      }
    }
  }
}

// partsLength is the content-length of a body sent as parts: undici would send an iterable chunked.
function partsLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  return n;
}

/** ReadLimits are what bounds one read besides the backend's own maxResponseBytes. */
export interface ReadLimits {
  /** The frontend's limit for this call (CallContext.maxResponseBytes): over it → 413 response_too_large. */
  callMax?: number | undefined;
  /** The process-wide budget the bytes are taken from; `held.bytes` counts what this read took. */
  budget?: ByteBudget;
  held?: { bytes: number };
  signal?: AbortSignal | undefined;
}

/**
 * readCapped reads a whole answer body up to the smallest limit that applies: the backend's
 * maxBytes, and for a 2xx the call's own limit (the frontend's maxResponseBytes, as
 * CallContext.maxResponseBytes). The body is always consumed or destroyed. A declared length
 * over the cap is refused before reading; a declared length within it is taken from the budget
 * and read in one piece (undici enforces it); an undeclared one is streamed, counted and taken
 * from the budget chunk by chunk. Over the call's limit → 413 response_too_large; over the
 * backend's → 502 backend_bad_reply. A failed answer (3xx and up) over the cap is cut, not
 * refused: it is only read for its message.
 */
export async function readCapped(res: Dispatcher.ResponseData, maxBytes: number, where: string, limits: ReadLimits = {}): Promise<Buffer> {
  const { cap, ok, tooLarge } = answerCap(res.statusCode, maxBytes, where, limits.callMax);
  const discard = (): void => {
    // undici's body emits an abort error when destroyed unread: with no listener that would
    // be an uncaught 'error' event.
    res.body.once('error', () => {}).destroy();
  };
  const { budget, held } = limits;
  const take = async (bytes: number): Promise<void> => {
    if (budget === undefined || held === undefined) return;
    if (!budget.tryTake(bytes)) await budget.take(bytes, limits.signal);
    held.bytes += bytes;
  };
  const declared = Number(res.headers['content-length']);
  if (declared > cap) {
    discard();
    throw tooLarge(`of ${declared} bytes `);
  }
  if (declared <= cap) {
    // Taken at once when it fits (the usual case): no promise for the wait.
    if (budget !== undefined && held !== undefined && budget.tryTake(declared)) held.bytes += declared;
    else {
      try {
        await take(declared);
      } catch (err) {
        discard();
        throw err;
      }
    }
    // A declared length is enforced by undici (a longer body is an error), so the whole body
    // can be taken at once, without an async iterator per answer.
    const bytes = await res.body.bytes();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += (chunk as Buffer).length;
    if (total > cap) {
      res.body.destroy();
      if (!ok) break; // an error body is only read for its message
      throw tooLarge('');
    }
    try {
      await take((chunk as Buffer).length);
    } catch (err) {
      res.body.destroy();
      throw err;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
