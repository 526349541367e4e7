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

/** maxHeaderListBytes is the header list a request may carry, in RFC 9113 §6.5.2's size (name + value + 32 a field): HTTP/1.1's 16 KiB. */
export const maxHeaderListBytes = 16 * 1024;
/**
 * A 431 needs the request decoded, and Node decodes a header list only up to the
 * SETTINGS_MAX_HEADER_LIST_SIZE it advertised (once the client has acknowledged it): past that,
 * its nghttp2 header callback resets the stream (RST_STREAM ENHANCE_YOUR_CALM) before any
 * JavaScript sees a request, and one field past 64 KiB is a COMPRESSION_ERROR of nghttp2's HPACK
 * decoder (GOAWAY). So the advertised size is 4× the limit: the handler answers 431 JSON up to
 * it; past it a reset is all HTTP/2 leaves (a Node client sees its stream refused, REFUSED_STREAM).
 */
const decodedHeaderListBytes = 4 * maxHeaderListBytes;

/**
 * h2HeadersProblem says why an HTTP/2 request's headers are refused (431), or undefined: more
 * fields than maxHeaders (pseudo-headers not counted, as HTTP/1.1 has none), or a list past
 * maxHeaderListBytes.
 */
export function h2HeadersProblem(rawHeaders: string[], maxHeaders: number): string | undefined {
  let fields = 0;
  let bytes = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    bytes += name.length + rawHeaders[i + 1]!.length + 32;
    if (name.charCodeAt(0) !== 0x3a) fields++; // ':'
  }
  if (fields > maxHeaders) return `the request has more than ${maxHeaders} headers`;
  if (bytes > maxHeaderListBytes) return `the request headers are ${bytes} bytes (RFC 9113 §6.5.2 size), more than ${maxHeaderListBytes}`;
  return undefined;
}

/** h2ServerLimits are the http2 server options: HTTP/1.1's limits in HTTP/2's terms. */
export function h2ServerLimits(bounds: H2Bounds): ServerOptions {
  return {
    settings: {
      maxConcurrentStreams: bounds.maxConcurrentStreams,
      // Decoded up to 4× the 16 KiB HTTP/1.1 allows, so that the handler can answer 431 past it.
      maxHeaderListSize: decodedHeaderListBytes,
      enablePush: false,
    },
    // Fields decoded before a reset: as many as the list size lets through (Node counts each
    // field 32 bytes or more), so past maxHeaders the handler answers 431 JSON as HTTP/1.1 does.
    maxHeaderListPairs: Math.max(bounds.maxHeaders * 2 + 8, decodedHeaderListBytes / 32),
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
