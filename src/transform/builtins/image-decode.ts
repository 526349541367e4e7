// image-decode.ts — one encoded image to the pixels a model takes, with sharp (libvips): the
// header is read first, so a wrong format or a decompression bomb is refused before any pixel
// is decoded, and decoding and resizing run in libuv's thread pool, off the event loop. Then
// one pass over the decoded bytes writes them, normalized, into the batch tensor.

import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import type { Metadata, Sharp } from 'sharp';
import { GatewayError } from '../../errors.ts';
import { DecodeSlots } from './decode-slots.ts';

/** ImagePlan is what every image of a request is turned into. */
export interface ImagePlan {
  /** Resize target; both or neither. */
  width?: number;
  height?: number;
  fit: 'cover' | 'fill';
  kernel: 'nearest' | 'linear' | 'cubic' | 'lanczos3';
  /** Centre crop after the resize. */
  crop?: { width: number; height: number };
  gray: boolean;
  maxPixels: number;
}

/** Pixels are one decoded image: interleaved 8-bit samples, `channels` per pixel (1 or 3). */
export interface Pixels {
  data: Buffer;
  width: number;
  height: number;
  channels: number;
}

const accepted: ReadonlySet<string> = new Set(['png', 'jpeg', 'webp', 'gif']);

// Many small images at once, not one large one fast: each image decodes on one libvips thread
// (the libuv pool runs several images side by side), which halves the CPU per 224×224 JPEG that
// libvips' own threads cost; its operation cache only holds memory for inputs never seen twice.
// sharp (libvips) is loaded by the first decode, not at start: most configs never decode an image.
type SharpFn = typeof import('sharp').default;
let loaded: SharpFn | undefined;
function sharp(...args: Parameters<SharpFn>): Sharp {
  if (loaded === undefined) {
    loaded = createRequire(import.meta.url)('sharp') as SharpFn;
    loaded.concurrency(1);
    loaded.cache(false);
  }
  return loaded(...args);
}

// At most one decode per core but one runs at once, so the event loop keeps a core of its own:
// with every core decoding, it waited up to 10 ms for one (event-loop delay p99, 1024×768 JPEGs).
const decoding = new DecodeSlots(Math.max(1, availableParallelism() - 1));

/**
 * decodeImage decodes image `index` of a request by the plan. Not an accepted image (PNG, JPEG,
 * WebP, GIF: its first frame) or corrupt → 400 bad_request; more pixels than maxPixels → 413
 * payload_too_large, decided from the header (sharp's limitInputPixels backs that up).
 */
export async function decodeImage(bytes: Buffer, index: number, plan: ImagePlan): Promise<Pixels> {
  const where = `image: instance ${index}`;
  let size: { width: number; height: number } | undefined;
  if (plan.width === undefined || plan.height === undefined) {
    // No resize: the crop needs the image's own size, so its header is read first.
    size = orientedSize(await readHeader(bytes, where, plan));
  } else {
    // A resize knows its size: one pipeline, whose pixel limit libvips checks on the header
    // before any pixel is decoded. The format is told by its first bytes.
    const format = sniffFormat(bytes);
    if (format === undefined) await readHeader(bytes, where, plan);
  }
  let pipeline = sharp(bytes, { limitInputPixels: plan.maxPixels, autoOrient: true });
  pipeline = plan.gray ? pipeline.grayscale() : pipeline.toColourspace('srgb');
  pipeline = pipeline.removeAlpha();
  if (plan.width !== undefined && plan.height !== undefined) {
    pipeline = pipeline.resize(plan.width, plan.height, { fit: plan.fit, position: 'centre', kernel: plan.kernel });
    size = { width: plan.width, height: plan.height };
  }
  return finish(pipeline, bytes, where, plan, size!);
}

// readHeader reads an image's header (no pixel decoded, whatever size it declares) and refuses
// a format that is not taken, or more pixels than the limit, naming them.
async function readHeader(bytes: Buffer, where: string, plan: ImagePlan): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new GatewayError('bad_request', `${where} is not a PNG, JPEG, WebP or GIF image (${(err as Error).message})`);
  }
  if (meta.format === undefined || !accepted.has(meta.format)) {
    throw new GatewayError('bad_request', `${where} is a ${meta.format ?? 'unknown'} image; send PNG, JPEG, WebP or GIF`);
  }
  const pixels = meta.width * (meta.pageHeight ?? meta.height);
  if (pixels > plan.maxPixels) {
    throw new GatewayError('payload_too_large',
      `${where} is ${meta.width}x${meta.pageHeight ?? meta.height} (${pixels} pixels), above this model's limit of ${plan.maxPixels} pixels (maxPixels)`);
  }
  return meta;
}

/** sniffFormat tells PNG, JPEG, GIF and WebP by their signatures; anything else is undefined. */
export function sniffFormat(b: Buffer): 'png' | 'jpeg' | 'gif' | 'webp' | undefined {
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 6 && b.toString('latin1', 0, 6).match(/^GIF8[79]a$/)) return 'gif';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

// finish crops, decodes and resizes; a pixel-limit failure is a 413 naming the image's size.
async function finish(pipeline: Sharp, bytes: Buffer, where: string, plan: ImagePlan, size: { width: number; height: number }): Promise<Pixels> {
  if (plan.crop !== undefined) {
    const { width, height } = plan.crop;
    if (width > size.width || height > size.height) {
      throw new GatewayError('bad_request', `${where} is ${size.width}x${size.height}, smaller than the ${width}x${height} crop`);
    }
    pipeline = pipeline.extract({ left: Math.floor((size.width - width) / 2), top: Math.floor((size.height - height) / 2), width, height });
  }
  try {
    // 8 bits per sample whatever the source (16-bit PNGs): the lookup table has 256 entries.
    const { data, info } = await decoding.run(() => pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
    return { data, width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) {
      await readHeader(bytes, where, plan); // throws the 413 that names the size
      throw new GatewayError('payload_too_large', `${where} is above this model's limit of ${plan.maxPixels} pixels (maxPixels)`);
    }
    throw new GatewayError('bad_request', `${where} could not be decoded (${message})`);
  }
}

// EXIF orientations 5–8 turn the image a quarter: its width and height swap once oriented.
function orientedSize(meta: Metadata): { width: number; height: number } {
  const height = meta.pageHeight ?? meta.height;
  return (meta.orientation ?? 1) >= 5 ? { width: height, height: meta.width } : { width: meta.width, height };
}

/** PixelPacking says where the samples go: layout, channel order and value mapping. */
export interface PixelPacking {
  layout: 'NCHW' | 'NHWC';
  /** For each output channel, the decoded channel it reads (BGR: 2, 1, 0). */
  order: readonly number[];
  /**
   * 256 values per output channel: lut[c·256 + v] is what sample v of channel c becomes
   * ((v · scale − mean[c]) / std[c]); undefined writes the samples as they are (UINT8).
   */
  lut?: Float32Array;
}

/**
 * packPixels writes one image into the batch tensor `out` at image slot `n`, in one pass over
 * its samples: a table lookup per sample, so normalization costs no arithmetic per pixel.
 */
export function packPixels(out: Float32Array | Uint8Array, n: number, px: Pixels, packing: PixelPacking): void {
  const { data, channels: stride } = px;
  const hw = px.width * px.height;
  const { order, lut } = packing;
  const channels = order.length;
  const base = n * hw * channels;
  if (packing.layout === 'NCHW') {
    for (let c = 0; c < channels; c++) {
      const from = order[c]!;
      const to = base + c * hw;
      const table = c * 256;
      if (lut === undefined) for (let p = 0; p < hw; p++) out[to + p] = data[p * stride + from]!;
      else for (let p = 0; p < hw; p++) out[to + p] = lut[table + data[p * stride + from]!]!;
    }
    return;
  }
  for (let p = 0; p < hw; p++) {
    const src = p * stride;
    const to = base + p * channels;
    for (let c = 0; c < channels; c++) {
      const v = data[src + order[c]!]!;
      out[to + c] = lut === undefined ? v : lut[c * 256 + v]!;
    }
  }
}

/** pixelTable makes PixelPacking.lut for `channels` channels. */
export function pixelTable(channels: number, scale: number, mean: readonly number[], std: readonly number[]): Float32Array {
  const lut = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    const m = mean.length === 1 ? mean[0]! : mean[c]!;
    const s = std.length === 1 ? std[0]! : std[c]!;
    for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v * scale - m) / s;
  }
  return lut;
}
