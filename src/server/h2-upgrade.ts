// h2-upgrade.ts — the HTTP/1.1 side of "Upgrade: h2c" (RFC 7540 §3.2): which requests may
// upgrade, the client's HTTP2-Settings put into the new session's first SETTINGS frame, and the
// HTTP/2 frames that carry such a request into the new session as stream 1.
// Only a request without a body upgrades (the body would have to arrive whole before the
// preface); any other is served over HTTP/1.1, as the RFC lets a server do.

import type { IncomingMessage } from 'node:http';

const hopByHop = new Set(['connection', 'upgrade', 'http2-settings', 'host', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te']);

/** upgradeSettings gives the decoded HTTP2-Settings of an acceptable h2c upgrade, else undefined. */
export function upgradeSettings(req: IncomingMessage): Buffer | undefined {
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string' || !upgrade.split(',').some((t) => t.trim().toLowerCase() === 'h2c')) return undefined;
  const connection = String(req.headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim());
  if (!connection.includes('upgrade') || !connection.includes('http2-settings')) return undefined;
  const settings = req.headers['http2-settings'];
  if (typeof settings !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(settings) || settings.length > 1024) return undefined;
  const decoded = Buffer.from(settings, 'base64url');
  if (decoded.length % 6 !== 0) return undefined;
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) return undefined;
  return decoded;
}

/**
 * withUpgradeSettings applies the client's HTTP2-Settings (RFC 7540 §3.2.1: the payload of a
 * SETTINGS frame, acknowledged by the 101) to the new session: `opening` is the preface and
 * the client's first SETTINGS frame, and its payload gets the upgrade's settings in front, so
 * the session reads them as one frame, in order (a setting the client repeats there wins,
 * RFC 9113 §6.5.3) and acknowledges the one frame the client sent. nghttp2 checks the values as
 * in any SETTINGS frame. Undefined when the merged frame would pass the 16 KB frame limit.
 */
export function withUpgradeSettings(opening: Buffer, settings: Buffer, prefaceLength: number): Buffer | undefined {
  const own = opening.subarray(prefaceLength + 9);
  const payload = Buffer.concat([settings, own]);
  if (payload.length > 16_384) return undefined;
  return Buffer.concat([opening.subarray(0, prefaceLength), frame(0x4, opening[prefaceLength + 4]!, 0, payload)]);
}

/**
 * upgradeFrames encodes the upgrade request as HEADERS (+ CONTINUATION) on stream 1, ending the
 * stream. Header fields are HPACK literals without indexing, so the dynamic table the client's
 * later requests use is untouched.
 */
export function upgradeFrames(req: IncomingMessage): Buffer {
  const fields: Array<[string, string]> = [
    [':method', req.method ?? 'GET'],
    [':scheme', 'http'],
    [':path', req.url ?? '/'],
  ];
  if (typeof req.headers.host === 'string') fields.push([':authority', req.headers.host]);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!hopByHop.has(name)) fields.push([name, raw[i + 1]!]);
  }
  const block = Buffer.concat(fields.map(([name, value]) => literal(name, value)));
  const frames: Buffer[] = [];
  const maxFrame = 16_384;
  for (let at = 0, first = true; first || at < block.length; first = false) {
    const part = block.subarray(at, at + maxFrame);
    at += part.length;
    const last = at >= block.length;
    // HEADERS carries END_STREAM (0x1); the frame that ends the block carries END_HEADERS (0x4).
    const flags = (first ? 0x1 : 0) | (last ? 0x4 : 0);
    frames.push(frame(first ? 0x1 : 0x9, flags, 1, part));
  }
  return Buffer.concat(frames);
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

// Literal Header Field without Indexing, new name (RFC 7541 §6.2.2), no Huffman coding.
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.concat([Buffer.from([0x00]), hpackInt(n.length, 7), n, hpackInt(v.length, 7), v]);
}

/** hpackInt is RFC 7541 §5.1's integer with an N-bit prefix (the prefix's other bits zero). */
export function hpackInt(value: number, prefixBits: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([value]);
  const out = [max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return Buffer.from(out);
}
