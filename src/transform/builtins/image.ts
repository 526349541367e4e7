// image.ts — the `image` preprocess step: encoded images in, the model's pixel tensor out
// ([N, C, H, W] or [N, H, W, C], FP32 or UINT8), so a client can send a photo as it is.
//
// What it takes: a body of image/png, image/jpeg, image/webp or image/gif bytes (one image, a
// batch of 1); or `instances` whose elements are {"b64": "..."} (Vertex / TF Serving style),
// {"<input name>": {"b64": "..."}}, or a bare base64 string (a data: URL too); or a v2 BYTES
// input of encoded images. Request `parameters` and `outputs` pass through; the instances (or
// the BYTES input) are replaced by the pixel tensor. Decoding is image-decode.ts (sharp).

import { z } from 'zod';
import { abortReason, describeValue, GatewayError } from '../../errors.ts';
import type { Tensor } from '../../tensors/tensor.ts';
import type { StepCall, StepDeps, StepPlugin, StepRequest, TransformStep } from '../step.ts';
import { decodeImage, packPixels, pixelTable, type ImagePlan, type PixelPacking, type Pixels } from './image-decode.ts';

const side = z.number().int().min(1).max(16384);
const sample = z.number().min(-1e6).max(1e6);

/** imageSchema is the `image` step's config. */
export const imageSchema = z.strictObject({
  input: z.string().min(1).max(256).optional().describe('The model input the pixels go to. Omitted = the model\'s first input (from its metadata).'),
  width: side.optional().describe('Resize every image to this width (with height). Omitted = no resize: the images of one request must then share a size.'),
  height: side.optional().describe('Resize every image to this height (with width).'),
  fit: z.enum(['cover', 'fill']).default('cover').describe(
    'How the resize meets width × height: cover = scale, keeping the aspect ratio, until the image covers the box, then cut the overflow evenly ' +
    '(torchvision Resize + CenterCrop); fill = stretch to exactly width × height.'),
  kernel: z.enum(['nearest', 'linear', 'cubic', 'lanczos3']).default('lanczos3').describe(
    'Resampling for the resize: lanczos3 (sharp\'s default, sharpest), cubic, linear (what torchvision\'s PIL path uses), nearest.'),
  crop: z.union([side, z.strictObject({ width: side, height: side })]).optional().describe(
    'Centre crop after the resize: a square side, or { width, height }; no larger than the resized image.'),
  channels: z.enum(['rgb', 'bgr', 'gray']).default('rgb').describe('Colour channels and their order: rgb (3), bgr (3, OpenCV-trained models), gray (1). Alpha is dropped.'),
  layout: z.enum(['NCHW', 'NHWC']).default('NCHW').describe('Tensor layout: NCHW [N, C, H, W] (PyTorch, most ONNX exports) or NHWC [N, H, W, C] (TensorFlow).'),
  datatype: z.enum(['FP32', 'UINT8']).default('FP32').describe('FP32: (sample · scale − mean) / std per channel; UINT8: the 0–255 samples as they are (no scale, mean or std).'),
  scale: z.number().gt(0).max(1e6).default(1).describe('Multiplies each 0–255 sample before mean and std: 0.00392156862745098 (1/255) for 0–1 inputs. FP32 only.'),
  mean: z.array(sample).min(1).max(3).optional().describe('Per channel, subtracted after scale (one value = every channel), e.g. [0.485, 0.456, 0.406]. Default 0. FP32 only.'),
  std: z.array(z.number().gt(0).max(1e6)).min(1).max(3).optional().describe('Per channel, divided by after mean (one value = every channel), e.g. [0.229, 0.224, 0.225]. Default 1. FP32 only.'),
  maxPixels: z.number().int().min(1).max(268_402_689).default(4096 * 4096).describe(
    'Most pixels (width × height) one image may declare; more → 413 payload_too_large, from the header, before anything is decoded.'),
  maxImages: z.number().int().min(1).max(1024).default(64).describe('Most images in one request; more → 400 bad_request.'),
}).superRefine((c, ctx) => {
  const issue = (message: string, path: string): void => { ctx.addIssue({ code: 'custom', message, path: [path] }); };
  if ((c.width === undefined) !== (c.height === undefined)) issue('give width and height together (or neither)', c.width === undefined ? 'width' : 'height');
  const channels = c.channels === 'gray' ? 1 : 3;
  for (const key of ['mean', 'std'] as const) {
    const list = c[key];
    if (list !== undefined && list.length !== 1 && list.length !== channels) issue(`${key} has ${list.length} values; ${c.channels} has ${channels} channel${channels === 1 ? '' : 's'} (or give one value for all)`, key);
  }
  if (c.datatype === 'UINT8') {
    for (const key of ['mean', 'std'] as const) if (c[key] !== undefined) issue(`${key} needs datatype FP32: UINT8 carries the samples as they are`, key);
    if (c.scale !== 1) issue('scale needs datatype FP32: UINT8 carries the samples as they are', 'scale');
  }
  const crop = cropOf(c.crop);
  if (crop !== undefined && c.width !== undefined && c.height !== undefined && (crop.width > c.width || crop.height > c.height)) {
    issue(`the ${crop.width}x${crop.height} crop is larger than the ${c.width}x${c.height} resize`, 'crop');
  }
}).describe('Decodes images (PNG, JPEG, WebP, GIF) into the model\'s pixel tensor: resize, crop, channels, layout, normalization.');

/** ImageConfig is the parsed `image` step config. */
export type ImageConfig = z.infer<typeof imageSchema>;

const imageTypes: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif']);
const base64Text = /^[A-Za-z0-9+/\-_\s]*={0,2}\s*$/;
const dataUrl = /^data:[^,]{0,100};base64,/;
// Decodes at once per request: enough to fill libuv's default pool, few enough to bound memory.
const decodesAtOnce = 4;

/** image is the `image` step's registry entry. */
export const image = {
  key: 'image',
  takesPayload: true,
  schema: imageSchema,
  create(config, deps): TransformStep {
    const plan: ImagePlan = {
      fit: config.fit, kernel: config.kernel, gray: config.channels === 'gray', maxPixels: config.maxPixels,
      ...(config.width === undefined ? {} : { width: config.width, height: config.height! }),
      ...(config.crop === undefined ? {} : { crop: cropOf(config.crop)! }),
    };
    const order = config.channels === 'gray' ? [0] : config.channels === 'bgr' ? [2, 1, 0] : [0, 1, 2];
    const packing: PixelPacking = {
      layout: config.layout, order,
      ...(config.datatype === 'FP32' ? { lut: pixelTable(order.length, config.scale, config.mean ?? [0], config.std ?? [1]) } : {}),
    };
    const inputName = firstInput(config.input, deps);
    return {
      name: 'image',
      takesPayload: true,
      async preprocess(req, call): Promise<StepRequest> {
        const images = encodedImages(req, config.maxImages);
        const decoded = await decodeAll(images, plan, call);
        const tensor = batchTensor(await inputName(), decoded, packing, config.datatype);
        const out: StepRequest = { headers: req.headers, contentType: req.contentType, inputs: [tensor] };
        if (req.parameters !== undefined) out.parameters = req.parameters;
        if (req.outputs !== undefined) out.outputs = req.outputs;
        return out;
      },
    };
  },
} satisfies StepPlugin<ImageConfig>;

function cropOf(crop: ImageConfig['crop']): { width: number; height: number } | undefined {
  return typeof crop === 'number' ? { width: crop, height: crop } : crop;
}

// The input name: the configured one, or the model's first input, asked once it is known.
function firstInput(configured: string | undefined, deps: StepDeps): () => Promise<string> {
  if (configured !== undefined) return () => Promise.resolve(configured);
  let known: string | undefined;
  return async () => {
    if (known !== undefined) return known;
    const first = (await deps.metadata()).inputs[0];
    if (first === undefined) throw new GatewayError('transform_failed', `image: model "${deps.model}" reports no inputs; set "input" on the image step`);
    known = first.name;
    return known;
  };
}

/** encodedImages finds the encoded images of a request, in order. */
function encodedImages(req: StepRequest, maxImages: number): Buffer[] {
  let images: Buffer[];
  if (req.instances !== undefined) images = req.instances.map((v, i) => instanceBytes(v, i));
  else if (req.inputs !== undefined) images = tensorImages(req.inputs);
  else if (req.body !== undefined) images = [bodyImage(req.body, req.contentType)];
  else throw new GatewayError('bad_request', 'image: the request carries no image: send image/png or image/jpeg bytes, or {"instances": [{"b64": "..."}]}');
  if (images.length === 0) throw new GatewayError('bad_request', 'image: the request carries no images');
  if (images.length > maxImages) {
    throw new GatewayError('bad_request', `image: the request carries ${images.length} images; this model takes at most ${maxImages} per request (maxImages)`);
  }
  return images;
}

function bodyImage(body: Buffer, contentType: string): Buffer {
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (imageTypes.has(type)) return body;
  if (type === 'application/json' || type.endsWith('+json')) {
    throw new GatewayError('bad_request', 'image: a JSON body needs "instances": [{"b64": "<base64 image>"}, ...]');
  }
  throw new GatewayError('unsupported_media_type', `image: content type "${type}" is not an image; send image/png, image/jpeg, image/webp or image/gif`);
}

function instanceBytes(v: unknown, i: number): Buffer {
  let text: unknown = v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    const only = keys.length === 1 ? (v as Record<string, unknown>)[keys[0]!] : undefined;
    if (keys.length === 1 && keys[0] === 'b64') text = only;
    else if (typeof only === 'object' && only !== null && Object.keys(only).length === 1 && 'b64' in only) text = (only as { b64: unknown }).b64;
    else throw new GatewayError('bad_request', `image: instance ${i} has the keys ${keys.map((k) => `"${k}"`).join(', ') || 'none'}; expected {"b64": "..."} or {"<input>": {"b64": "..."}}`);
  }
  if (typeof text !== 'string') throw new GatewayError('bad_request', `image: instance ${i} is ${describeValue(text)}; expected a base64 string or {"b64": "..."}`);
  const encoded = text.replace(dataUrl, '');
  if (!base64Text.test(encoded)) throw new GatewayError('bad_request', `image: instance ${i} is not base64 text`);
  const bytes = Buffer.from(encoded, 'base64');
  if (bytes.length === 0) throw new GatewayError('bad_request', `image: instance ${i} is empty`);
  return bytes;
}

function tensorImages(inputs: Tensor[]): Buffer[] {
  const bytes = inputs.filter((t) => t.datatype === 'BYTES');
  if (inputs.length !== 1 || bytes.length !== 1) {
    throw new GatewayError('bad_request', `image: a tensor request needs one BYTES input of encoded images; got ${inputs.map((t) => `"${t.name}" (${t.datatype})`).join(', ') || 'none'}`);
  }
  return (bytes[0]!.data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function decodeAll(images: Buffer[], plan: ImagePlan, call: StepCall): Promise<Pixels[]> {
  const out: Pixels[] = new Array(images.length);
  let next = 0;
  let failed = false; // one bad image ends the request: the other workers take no new one
  const worker = async (): Promise<void> => {
    while (next < images.length && !failed) {
      if (call.signal.aborted) throw abortReason(call.signal, 'the image decode');
      const i = next++;
      try {
        out[i] = await decodeImage(images[i]!, i, plan);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(decodesAtOnce, images.length) }, worker));
  return out;
}

function batchTensor(name: string, images: Pixels[], packing: PixelPacking, datatype: 'FP32' | 'UINT8'): Tensor {
  const { width, height } = images[0]!;
  const channels = packing.order.length;
  images.forEach((px, i) => {
    if (px.width !== width || px.height !== height) {
      throw new GatewayError('bad_request', `image: instance ${i} is ${px.width}x${px.height} but instance 0 is ${width}x${height}; images of one request must share a size (or set width and height to resize them)`);
    }
    if (px.channels < channels) throw new GatewayError('transform_failed', `image: instance ${i} decoded to ${px.channels} channels, ${channels} expected`);
  });
  const count = images.length * channels * width * height;
  const data = datatype === 'FP32' ? new Float32Array(count) : new Uint8Array(count);
  images.forEach((px, n) => packPixels(data, n, px, packing));
  const shape = packing.layout === 'NCHW' ? [images.length, channels, height, width] : [images.length, height, width, channels];
  return { name, datatype, shape, data };
}
