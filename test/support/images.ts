// images.ts (test support) — test images with known pixels, encoded by sharp itself, and a
// decompression bomb: a PNG of a few KB whose header declares 20000 × 20000 pixels.

import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** imageOf encodes interleaved RGB (or gray, channels 1) samples as a PNG or JPEG. */
export async function imageOf(width: number, height: number, samples: number[], format: 'png' | 'jpeg' | 'webp' | 'gif' = 'png', channels: 1 | 3 | 4 = 3): Promise<Buffer> {
  const input = sharp(Buffer.from(samples), { raw: { width, height, channels } });
  if (format === 'jpeg') return input.jpeg({ quality: 100 }).toBuffer();
  if (format === 'webp') return input.webp({ lossless: true }).toBuffer();
  if (format === 'gif') return input.gif().toBuffer();
  return input.png().toBuffer();
}

/** solidImage is a width × height image of one colour. */
export function solidImage(width: number, height: number, rgb: [number, number, number], format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  return imageOf(width, height, Array.from({ length: width * height }, () => rgb).flat(), format);
}

/**
 * bombPng is a valid 1-bit grayscale PNG declaring width × height pixels, all black: the zeros
 * compress about 1000:1, so 20000 × 20000 (400 million pixels, 1.2 GB once decoded as RGB) is
 * about 50 KB. With `corruptData` its compressed rows are garbage: only its header is valid.
 */
export function bombPng(width: number, height: number, corruptData = false): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // colour type: grayscale
  const rowBytes = 1 + Math.ceil(width / 8); // filter byte + packed bits
  const data = corruptData ? Buffer.alloc(64, 0xa5) : deflateSync(Buffer.alloc(rowBytes * height), { level: 9 });
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header), pngChunk('IDAT', data), pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}
