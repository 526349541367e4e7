// object-store-faults.ts (test support) — what fake-gcs.ts and fake-s3.ts share: byte ranges as
// RFC 9110 §14 defines them, and the faults a test asks for (a connection cut mid-object,
// corrupted bytes, a refusal, a slow answer), with a record of every request.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** Faults are set by a test on a fake; keys are object names ("bucket/name"). */
export interface Faults {
  /** Cut the connection after this many body bytes of the next media answer for the object (once). */
  cutAfter: Map<string, number>;
  /** Send this many body bytes of the next media answer for the object, then nothing, keeping the connection open (once). */
  stallAfter: Map<string, number>;
  /** Serve the object's bytes with one byte flipped (the metadata still describes the true bytes). */
  corrupt: Set<string>;
  /** Refuse requests touching the object (or "bucket/" for the whole bucket) with this status. */
  deny: Map<string, number>;
  /** Write media answers in chunks of this size, pausing between them. */
  slow?: { chunkBytes: number; pauseMs: number };
  /**
   * Wait for this promise in every media answer (a download held mid-way): after its first chunk,
   * or before any byte when it is one chunk long (a client has a whole answer once it has
   * Content-Length bytes, finished or not).
   */
  hold?: Promise<void>;
}

export function newFaults(): Faults {
  return { cutAfter: new Map(), stallAfter: new Map(), corrupt: new Set(), deny: new Map() };
}

/** SeenRequest is one request a fake answered. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  range?: { start: number; end: number };
}

/** parseRange reads a single "bytes=a-b", "bytes=a-" or "bytes=-n"; undefined when absent, 'bad' when unsatisfiable. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | 'bad' {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null || (m[1] === '' && m[2] === '')) return undefined; // not understood: the whole object, as servers do
  if (m[1] === '') {
    const n = Number(m[2]);
    return n === 0 ? 'bad' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'bad';
  return { start, end };
}

/**
 * sendBody writes `bytes` as the answer's body, applying the object's faults: a cut destroys
 * the socket after the given count, a slow fake pauses between chunks. Tracks concurrency.
 */
export async function sendBody(res: ServerResponse, bytes: Buffer, key: string, faults: Faults, inFlight: { now: number; max: number }): Promise<void> {
  let body = bytes;
  if (faults.corrupt.has(key) && body.length > 0) {
    body = Buffer.from(body);
    body[0] = body[0]! ^ 0xff;
  }
  const cut = faults.cutAfter.get(key);
  if (cut !== undefined) faults.cutAfter.delete(key);
  const stall = faults.stallAfter.get(key);
  if (stall !== undefined) {
    faults.stallAfter.delete(key);
    res.write(body.subarray(0, stall));
    await new Promise((r) => res.once('close', r)); // until the client gives up
    return;
  }
  inFlight.now++;
  inFlight.max = Math.max(inFlight.max, inFlight.now);
  try {
    const chunk = faults.slow?.chunkBytes ?? 64 * 1024;
    for (let at = 0; at < body.length; at += chunk) {
      if (res.destroyed) return;
      let piece = body.subarray(at, Math.min(body.length, at + chunk));
      if (cut !== undefined && at + piece.length >= cut) {
        piece = piece.subarray(0, Math.max(0, cut - at));
        await new Promise<void>((r) => res.write(piece, () => r()));
        res.socket?.destroy();
        return;
      }
      if (faults.hold !== undefined && at === 0 && body.length <= chunk) await faults.hold;
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      if (faults.hold !== undefined && at === 0 && body.length > chunk) await faults.hold;
      // No pause after the last chunk: the answer counts as in flight until its last byte only.
      if (faults.slow !== undefined && at + chunk < body.length) await new Promise((r) => setTimeout(r, faults.slow!.pauseMs));
    }
    res.end();
  } finally {
    inFlight.now--;
  }
}

/** listenLocal binds a fake's server to a free port of 127.0.0.1 and gives its base URL. */
export async function listenLocal(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** closeLocal ends a fake's connections and stops its server. */
export async function closeLocal(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}
