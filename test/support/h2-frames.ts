// h2-frames.ts (test support) — HTTP/2 spoken by hand, from RFC 9113 and RFC 7541, for what a
// well-behaved client (node:http2) will not send: floods of PING, SETTINGS, RST_STREAM and
// CONTINUATION frames, and the h2c Upgrade dance. Frames out, frames in; header blocks out are
// HPACK literals without indexing (no Huffman), which every decoder must accept.

import { connect, type Socket } from 'node:net';

export const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const type = { data: 0x0, headers: 0x1, rstStream: 0x3, settings: 0x4, ping: 0x6, goaway: 0x7, windowUpdate: 0x8, continuation: 0x9 } as const;
export const flag = { endStream: 0x1, ack: 0x1, endHeaders: 0x4 } as const;
export const code = { noError: 0x0, protocolError: 0x1, cancel: 0x8, enhanceYourCalm: 0xb } as const;

export function frame(kind: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = kind;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

function hpackLength(n: number): Buffer {
  if (n < 127) return Buffer.from([n]);
  const out = [127];
  let rest = n - 127;
  while (rest >= 128) { out.push((rest % 128) + 128); rest = Math.floor(rest / 128); }
  out.push(rest);
  return Buffer.from(out);
}

/** headerBlock encodes fields as literals without indexing. */
export function headerBlock(fields: Array<[string, string]>): Buffer {
  return Buffer.concat(fields.flatMap(([n, v]) => [Buffer.from([0]), hpackLength(n.length), Buffer.from(n), hpackLength(v.length), Buffer.from(v)]));
}

export function requestHeaders(stream: number, method: string, path: string, extra: Array<[string, string]> = [], endStream = true): Buffer {
  const block = headerBlock([[':method', method], [':scheme', 'http'], [':path', path], [':authority', 'localhost'], ...extra]);
  return frame(type.headers, flag.endHeaders | (endStream ? flag.endStream : 0), stream, block);
}

export interface Frame { type: number; flags: number; stream: number; payload: Buffer }

/** RawH2 is one TCP connection with a frame reader; `closed` resolves when the server closes it. */
export interface RawH2 {
  socket: Socket;
  frames: Frame[];
  closed: Promise<void>;
  send(bytes: Buffer): boolean;
  /** Resolves with the first frame (seen already or later) that matches. */
  next(match: (f: Frame) => boolean): Promise<Frame>;
  /** Bytes before the first frame (an HTTP/1.1 answer to an upgrade request). */
  http1(): string;
}

export function openRaw(port: number, opening: 'preface' | 'none' = 'preface'): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const frames: Frame[] = [];
    const waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
    let buffer = Buffer.alloc(0);
    let head = '';
    let inFrames = opening === 'preface';
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!inFrames) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        head = buffer.subarray(0, end + 4).toString('latin1');
        buffer = buffer.subarray(end + 4);
        inFrames = /^HTTP\/1\.1 101/.test(head);
        if (!inFrames) return;
      }
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        const f = { type: buffer[3]!, flags: buffer[4]!, stream: buffer.readUInt32BE(5) & 0x7fffffff, payload: buffer.subarray(9, 9 + length) };
        buffer = buffer.subarray(9 + length);
        frames.push(f);
        for (const w of [...waiters]) if (w.match(f)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(f); }
        // The peer's SETTINGS are acknowledged, as any client must.
        if (f.type === type.settings && (f.flags & flag.ack) === 0 && !socket.destroyed) socket.write(frame(type.settings, flag.ack, 0));
      }
    });
    socket.once('connect', () => {
      if (opening === 'preface') socket.write(Buffer.concat([preface, frame(type.settings, 0, 0)]));
      resolve({
        socket, frames, closed,
        send: (bytes) => !socket.destroyed && socket.write(bytes),
        next: (match) => {
          const seen = frames.find(match);
          if (seen !== undefined) return Promise.resolve(seen);
          return new Promise((res, rej) => {
            waiters.push({ match, resolve: res });
            void closed.then(() => { const late = frames.find(match); if (late !== undefined) res(late); else rej(new Error('the connection closed first')); });
          });
        },
        http1: () => head,
      });
    });
    socket.once('error', reject);
  });
}

/** goawayOf reads a GOAWAY frame: the last stream the server processed and the error code. */
export function goawayOf(f: Frame): { lastStream: number; code: number } {
  return { lastStream: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) };
}

/** dataOf joins the DATA payloads the server sent on a stream. */
export function dataOf(frames: Frame[], stream: number): string {
  return Buffer.concat(frames.filter((f) => f.type === type.data && f.stream === stream).map((f) => f.payload)).toString();
}
