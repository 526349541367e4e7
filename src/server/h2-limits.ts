// h2-limits.ts — the bounds an HTTP/2 connection lives within, against the attacks Envoy and
// NGINX defend against: rapid reset (CVE-2023-44487: open a stream, reset it, repeat, so the
// server starts work the client never waits for), CONTINUATION floods (a header block that
// never ends: CVE-2024-27983 and the 2024 CONTINUATION advisories), and SETTINGS and PING
// floods (each demands an acknowledgement). nghttp2 (inside Node) bounds some of these itself;
// the gateway adds its own per-connection budgets so a flood ends the connection with GOAWAY
// ENHANCE_YOUR_CALM instead of costing CPU for as long as the client likes.

import type { Http2Session, ServerOptions, ServerHttp2Stream } from 'node:http2';

export interface H2Bounds {
  maxConcurrentStreams: number;
  maxHeaders: number;
}

// RFC 9113 §7 error codes (node:http2's constants, without loading it for them).
const refusedStream = 0x7;
const enhanceYourCalm = 0xb;

/** Over each window, a connection may send at most this many of each frame kind the gateway counts. */
export const floodWindowMs = 10_000;
export const maxPingsPerWindow = 100;
export const maxSettingsPerWindow = 100;
/** Streams the client resets before their answer was written, or opens while reset ones are still handled. */
export const maxEarlyResetsPerWindow = 200;

/** h2ServerLimits are the http2 server options: HTTP/1.1's limits in HTTP/2's terms. */
export function h2ServerLimits(bounds: H2Bounds): ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: bounds.maxConcurrentStreams,
      // The same 16 KiB of headers as the HTTP/1.1 listener's maxHeaderSize.
      maxHeaderListSize: 16 * 1024,
      enablePush: false,
    },
    // Room past maxHeaders (and the pseudo-headers) so a request a little over it gets HTTP/1.1's
    // 431 JSON from the handler; far past it, nghttp2 resets the stream (ENHANCE_YOUR_CALM).
    maxHeaderListPairs: bounds.maxHeaders * 2 + 8,
    // Entries in one SETTINGS frame, and PINGs of ours the client has not acknowledged.
    maxSettings: 16,
    maxOutstandingPings: 10,
    // Frames that break the protocol, and streams opened past maxConcurrentStreams, before the
    // session is torn down (Node's defaults are 1000 and 100).
    maxSessionInvalidFrames: 100,
    maxSessionRejectedStreams: 100,
    // Megabytes of HPACK state and queued frames one session may hold.
    maxSessionMemory: 10,
    // A connection that never shows a protocol is closed.
    unknownProtocolTimeout: 10_000,
  };
}

interface Budget { count: number; since: number }

/** SessionBounds is one connection's budgets, as the request handler uses them. */
export interface SessionBounds {
  /** Counts a new stream's handler in, or refuses the stream (REFUSED_STREAM) and gives false. */
  admit(stream: ServerHttp2Stream): boolean;
  /** The handler of an admitted stream is done. */
  release(): void;
}

/**
 * boundSession enforces the per-connection budgets: PINGs, SETTINGS frames and early resets per
 * window, and requests being handled at once. A stream the client reset still counts until its
 * handler returns (as Go's fix for rapid reset does), so resetting streams cannot get more work
 * going at once than maxConcurrentStreams; a stream beyond that is refused.
 */
export function boundSession(session: Http2Session, bounds: H2Bounds): SessionBounds {
  const budgets = new Map<string, Budget>();
  const spend = (kind: string, limit: number): void => {
    const now = performance.now();
    let b = budgets.get(kind);
    if (b === undefined || now - b.since > floodWindowMs) budgets.set(kind, b = { count: 0, since: now });
    if (++b.count > limit && !session.destroyed) session.destroy(enhanceYourCalm as unknown as Error);
  };
  session.on('ping', () => spend('ping', maxPingsPerWindow));
  session.on('remoteSettings', () => spend('settings', maxSettingsPerWindow));
  session.on('error', () => undefined);
  let handling = 0;
  return {
    admit: (stream) => {
      stream.on('error', () => undefined);
      if (handling >= bounds.maxConcurrentStreams) {
        // Only a client that resets streams gets here (nghttp2 holds the others to the stream
        // limit), so a refusal spends the reset budget too.
        spend('reset', maxEarlyResetsPerWindow);
        stream.close(refusedStream);
        return false;
      }
      handling++;
      stream.once('aborted', () => spend('reset', maxEarlyResetsPerWindow));
      return true;
    },
    release: () => { handling--; },
  };
}
