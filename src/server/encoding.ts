// encoding.ts — a request body's Content-Encoding, as Triton reads it: gzip (x-gzip) and
// deflate are decoded as the body streams in, with the decoded size bounded (a zip bomb stops at
// the bound, never inflated past it); identity passes; any other coding is a 415 naming it.

import { createGunzip, createInflate, createInflateRaw, type Gunzip, type Inflate, type InflateRaw } from 'node:zlib';
import { clip, GatewayError } from '../errors.ts';

export type BodyCoding = 'gzip' | 'deflate';

/** bodyCoding reads a Content-Encoding value: undefined for none or identity, the coding to decode, or a 415. */
export function bodyCoding(value: string | string[] | undefined): BodyCoding | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value.join(', ') : value;
  const codings = text.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '' && s !== 'identity');
  if (codings.length === 0) return undefined;
  if (codings.length === 1) {
    const coding = codings[0]!;
    if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
    if (coding === 'deflate') return 'deflate';
  }
  throw new GatewayError('unsupported_media_type',
    `Content-Encoding ${JSON.stringify(clip(text, 60))} is not supported; send the body as gzip, deflate or identity`);
}

/** BodyDecoder takes a coded body chunk by chunk and hands on the decoded bytes. */
export interface BodyDecoder {
  write(chunk: Buffer): void;
  end(): void;
  /** Stops decoding now (the body was refused); nothing more is handed on. */
  destroy(): void;
}

export interface DecoderEvents {
  data(chunk: Buffer): void;
  end(): void;
  error(err: GatewayError): void;
}

/**
 * bodyDecoder decodes one body. "deflate" is the zlib format (RFC 9110); a raw deflate stream,
 * which some clients send under the same name, is told apart by its first two bytes.
 */
export function bodyDecoder(coding: BodyCoding, on: DecoderEvents): BodyDecoder {
  let stream: Gunzip | Inflate | InflateRaw | undefined;
  let head: Buffer | undefined;
  let stopped = false;
  const open = (first: Buffer): Gunzip | Inflate | InflateRaw => {
    const s = coding === 'gzip' ? createGunzip() : isZlibHeader(first) ? createInflate() : createInflateRaw();
    s.on('data', (chunk: Buffer) => { if (!stopped) on.data(chunk); });
    s.on('end', () => { if (!stopped) on.end(); });
    s.on('error', (err: Error) => {
      if (stopped) return;
      stopped = true;
      on.error(new GatewayError('bad_request', `the request body is not valid ${coding} data (Content-Encoding: ${coding}): ${clip(err.message, 80)}`));
    });
    return s;
  };
  return {
    write(chunk) {
      if (stopped) return;
      if (stream === undefined) {
        head = head === undefined ? chunk : Buffer.concat([head, chunk]);
        if (head.length < 2) return;
        stream = open(head);
        chunk = head;
        head = undefined;
      }
      stream.write(chunk);
    },
    end() {
      if (stopped) return;
      stream ??= open(head ?? Buffer.alloc(0));
      if (head !== undefined) stream.write(head);
      stream.end();
    },
    destroy() {
      stopped = true;
      stream?.destroy();
    },
  };
}

// isZlibHeader: a zlib stream starts CMF FLG with compression method 8 and (CMF*256+FLG) % 31 == 0.
function isZlibHeader(b: Buffer): boolean {
  return b.length >= 2 && (b[0]! & 0x0f) === 8 && ((b[0]! << 8) | b[1]!) % 31 === 0;
}
