// The image step: encoded images in, the model's pixel tensor out. Test images are made by
// sharp itself with known pixels; exact values are checked on small PNGs (lossless).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { Tensor } from '../../../src/tensors/tensor.ts';
import { sniffFormat } from '../../../src/transform/builtins/image-decode.ts';
import { image, imageSchema } from '../../../src/transform/builtins/image.ts';
import { bombPng, imageOf, solidImage } from '../../support/images.ts';
import { buildStep, preprocess, rejectsWith, stepCall, stepDeps, stepRequest } from '../../support/step-harness.ts';

// A 2 × 2 RGB image, row-major: (0,0) (1,0) / (0,1) (1,1).
const pixels = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
const png = (): Promise<Buffer> => imageOf(2, 2, pixels);
const body = (bytes: Buffer, contentType = 'image/png') => stepRequest({ body: bytes, contentType });
const b64 = (bytes: Buffer): string => bytes.toString('base64');

async function tensorOf(config: unknown, req: Parameters<typeof preprocess>[1]): Promise<Tensor> {
  const out = await preprocess(buildStep(image, config), req);
  assert.equal(out.inputs?.length, 1);
  return out.inputs![0]!;
}

// The value of sample v of channel c, computed as the step documents it.
const normalized = (v: number, scale: number, mean: number, std: number): number => Math.fround((v * scale - mean) / std);

describe('image: tensor values', () => {
  it('a 2x2 PNG → NCHW FP32 with scale, mean and std, exactly', async () => {
    const scale = 1 / 255;
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const t = await tensorOf({ scale, mean, std }, body(await png()));
    assert.equal(t.name, 'pixels'); // the model's first input
    assert.equal(t.datatype, 'FP32');
    assert.deepEqual(t.shape, [1, 3, 2, 2]);
    const expected: number[] = [];
    for (let c = 0; c < 3; c++) for (let p = 0; p < 4; p++) expected.push(normalized(pixels[p * 3 + c]!, scale, mean[c]!, std[c]!));
    assert.deepEqual(Array.from(t.data as Float32Array), expected);
  });

  it('NHWC keeps each pixel\'s channels together; a single mean and std apply to every channel', async () => {
    const t = await tensorOf({ layout: 'NHWC', mean: [100], std: [2] }, body(await png()));
    assert.deepEqual(t.shape, [1, 2, 2, 3]);
    assert.deepEqual(Array.from(t.data as Float32Array), pixels.map((v) => (v - 100) / 2));
  });

  it('bgr reverses the channel order', async () => {
    const t = await tensorOf({ channels: 'bgr', layout: 'NHWC' }, body(await png()));
    const bgr = [30, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100];
    assert.deepEqual(Array.from(t.data as Float32Array), bgr);
  });

  it('gray gives one channel ([N, 1, H, W]); a grey pixel keeps its value', async () => {
    const grey = await imageOf(2, 2, [0, 0, 0, 128, 128, 128, 255, 255, 255, 37, 37, 37]);
    const t = await tensorOf({ channels: 'gray' }, body(grey));
    assert.deepEqual(t.shape, [1, 1, 2, 2]);
    assert.deepEqual(Array.from(t.data as Float32Array), [0, 128, 255, 37]);
  });

  it('UINT8 carries the samples as they are', async () => {
    const t = await tensorOf({ datatype: 'UINT8' }, body(await png()));
    assert.equal(t.datatype, 'UINT8');
    assert.ok(t.data instanceof Uint8Array);
    assert.deepEqual(Array.from(t.data), [10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120]);
  });

  it('cover resizes keeping the aspect and cuts the overflow evenly; crop then takes the centre', async () => {
    // 8 × 4 with a value per pixel: r = 10x + y, g = 100 + x, b = 200 + y.
    const samples: number[] = [];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 8; x++) samples.push(10 * x + y, 100 + x, 200 + y);
    const src = await imageOf(8, 4, samples);
    // 8x4 covering 4x4 keeps the scale (the height fits) and cuts columns 0–1 and 6–7; the 2x2
    // centre of that is columns 3–4, rows 1–2 of the source: no pixel is resampled.
    const t = await tensorOf({ width: 4, height: 4, crop: 2, layout: 'NHWC', datatype: 'UINT8' }, body(src));
    assert.deepEqual(t.shape, [1, 2, 2, 3]);
    assert.deepEqual(Array.from(t.data as Uint8Array), [31, 103, 201, 41, 104, 201, 32, 103, 202, 42, 104, 202]);
    const rect = await tensorOf({ width: 4, height: 4, crop: { width: 2, height: 4 }, layout: 'NHWC', datatype: 'UINT8' }, body(src));
    assert.deepEqual(rect.shape, [1, 4, 2, 3]);
  });

  it('fill stretches to exactly width × height (cover would keep only the middle)', async () => {
    // 6 × 2: columns 0–1 red, 2–3 green, 4–5 blue.
    const samples: number[] = [];
    for (let y = 0; y < 2; y++) for (let x = 0; x < 6; x++) samples.push(x < 2 ? 255 : 0, x >= 2 && x < 4 ? 255 : 0, x >= 4 ? 255 : 0);
    const src = await imageOf(6, 2, samples);
    const fill = await tensorOf({ width: 2, height: 2, fit: 'fill', kernel: 'nearest', layout: 'NHWC', datatype: 'UINT8' }, body(src));
    assert.deepEqual(Array.from(fill.data as Uint8Array), [255, 0, 0, 0, 0, 255, 255, 0, 0, 0, 0, 255]);
    const cover = await tensorOf({ width: 2, height: 2, kernel: 'nearest', layout: 'NHWC', datatype: 'UINT8' }, body(src));
    assert.deepEqual(Array.from(cover.data as Uint8Array), [0, 255, 0, 0, 255, 0, 0, 255, 0, 0, 255, 0]);
  });

  it('a JPEG decodes (lossy: within a few levels of the colour), as do WebP and GIF', async () => {
    const t = await tensorOf({ datatype: 'UINT8', layout: 'NHWC' }, body(await solidImage(4, 4, [200, 10, 50], 'jpeg'), 'image/jpeg'));
    assert.deepEqual(t.shape, [1, 4, 4, 3]);
    const data = Array.from(t.data as Uint8Array);
    for (let i = 0; i < data.length; i++) assert.ok(Math.abs(data[i]! - [200, 10, 50][i % 3]!) <= 3, `sample ${i} is ${data[i]}`);
    const webp = await tensorOf({ datatype: 'UINT8', layout: 'NHWC' }, body(await imageOf(2, 2, pixels, 'webp'), 'image/webp'));
    assert.deepEqual(Array.from(webp.data as Uint8Array), pixels);
    const gif = await tensorOf({ datatype: 'UINT8' }, body(await imageOf(2, 2, pixels, 'gif'), 'image/gif'));
    assert.deepEqual(gif.shape, [1, 3, 2, 2]);
  });

  it('a 16-bit PNG gives 8-bit samples like any other', async () => {
    const png16 = await sharp(Buffer.from(pixels), { raw: { width: 2, height: 2, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    assert.equal((await sharp(png16).metadata()).depth, 'ushort');
    const t = await tensorOf({ datatype: 'UINT8', layout: 'NHWC' }, body(png16));
    assert.deepEqual(Array.from(t.data as Uint8Array), pixels);
  });

  it('EXIF orientation is applied: a 2x1 image marked "rotate 90°" is 1 wide and 2 tall, and crops as such', async () => {
    const turned = await sharp(Buffer.from([10, 20, 30, 40, 50, 60]), { raw: { width: 2, height: 1, channels: 3 } }).png().withMetadata({ orientation: 6 }).toBuffer();
    const t = await tensorOf({ datatype: 'UINT8', layout: 'NHWC', crop: { width: 1, height: 2 } }, body(turned));
    assert.deepEqual(t.shape, [1, 2, 1, 3]);
    assert.deepEqual(Array.from(t.data as Uint8Array), [10, 20, 30, 40, 50, 60]);
  });

  it('alpha is dropped', async () => {
    const rgba = await imageOf(1, 2, [10, 20, 30, 255, 40, 50, 60, 0], 'png', 4);
    const t = await tensorOf({ datatype: 'UINT8', layout: 'NHWC' }, body(rgba));
    assert.deepEqual(Array.from(t.data as Uint8Array), [10, 20, 30, 40, 50, 60]);
  });
});

describe('image: request forms', () => {
  it('instances of {"b64"}, {"<input>": {"b64"}}, a bare base64 string and a data: URL are one batch, in order', async () => {
    const a = await solidImage(2, 2, [1, 2, 3]);
    const b = await solidImage(2, 2, [4, 5, 6]);
    const instances = [{ b64: b64(a) }, { image: { b64: b64(b) } }, b64(a), `data:image/png;base64,${b64(b)}`];
    const t = await tensorOf({ datatype: 'UINT8', layout: 'NHWC' }, stepRequest({ instances }));
    assert.deepEqual(t.shape, [4, 2, 2, 3]);
    const data = Array.from(t.data as Uint8Array);
    const colours = [[1, 2, 3], [4, 5, 6], [1, 2, 3], [4, 5, 6]];
    colours.forEach((rgb, n) => assert.deepEqual(data.slice(n * 12, n * 12 + 3), rgb, `image ${n}`));
  });

  it('a v2 BYTES input of encoded images is decoded into the model input', async () => {
    const bytes = [await solidImage(2, 2, [7, 8, 9]), await solidImage(2, 2, [9, 8, 7])];
    const t = await tensorOf({ datatype: 'UINT8', layout: 'NHWC' }, stepRequest({ inputs: [{ name: 'raw', datatype: 'BYTES', shape: [2], data: bytes }] }));
    assert.equal(t.name, 'pixels');
    assert.deepEqual(t.shape, [2, 2, 2, 3]);
    assert.deepEqual(Array.from(t.data as Uint8Array).slice(12, 15), [9, 8, 7]);
  });

  it('parameters and outputs pass through; the instances and the body are replaced by the tensor', async () => {
    const out = await preprocess(buildStep(image, {}), stepRequest({
      instances: [{ b64: b64(await png()) }], parameters: { threshold: 0.5 }, outputs: [{ name: 'probs' }],
    }));
    assert.deepEqual(out.parameters, { threshold: 0.5 });
    assert.deepEqual(out.outputs, [{ name: 'probs' }]);
    assert.equal(out.instances, undefined);
    assert.equal(out.body, undefined);
    assert.equal(out.inputs?.[0]?.name, 'pixels');
  });

  it('the configured input name wins; the metadata is asked once, then remembered', async () => {
    const deps = stepDeps();
    const step = buildStep(image, {}, deps);
    for (let i = 0; i < 3; i++) await preprocess(step, body(await png()));
    assert.equal(deps.metadataCalls, 1);
    const named = await tensorOf({ input: 'images' }, body(await png()));
    assert.equal(named.name, 'images');
    const none = buildStep(image, {}, stepDeps({ name: 'm', platform: 't', inputs: [], outputs: [] }));
    await rejectsWith(preprocess(none, body(await png())), 'transform_failed', /^image: model "m" reports no inputs/);
  });

  it('takes a payload', () => {
    assert.equal(image.takesPayload, true); // first in a list, the frontend hands it image bodies
    assert.equal(buildStep(image, {}).takesPayload, true);
  });
});

describe('image: bad requests', () => {
  it('a decompression bomb (20000x20000 in 50 KB) is refused with 413 from its header, before any pixel is decoded', async () => {
    const bomb = bombPng(20000, 20000);
    assert.ok(bomb.length < 100_000, `the bomb is ${bomb.length} bytes`);
    const before = process.memoryUsage().rss;
    await rejectsWith(preprocess(buildStep(image, {}), body(bomb)), 'payload_too_large',
      /^image: instance 0 is 20000x20000 \(400000000 pixels\), above this model's limit of 16777216 pixels \(maxPixels\)$/);
    // Decoded, it would take 1.2 GB (400 M pixels × 3 channels).
    assert.ok(process.memoryUsage().rss - before < 300 * 1024 * 1024, 'the bomb was decoded');
    // Only the header is valid here: decoding it would fail as corrupt (400), not as too large.
    await rejectsWith(preprocess(buildStep(image, {}), body(bombPng(20000, 20000, true))), 'payload_too_large', /20000x20000/);
  });

  it('with a resize (one decode pipeline, no header pass) a bomb is still a 413 naming its size, and never decoded', async () => {
    const resized = buildStep(image, { width: 32, height: 32 });
    const before = process.memoryUsage().rss;
    await rejectsWith(preprocess(resized, body(bombPng(20000, 20000))), 'payload_too_large',
      /^image: instance 0 is 20000x20000 \(400000000 pixels\), above this model's limit of 16777216 pixels \(maxPixels\)$/);
    await rejectsWith(preprocess(resized, body(bombPng(20000, 20000, true))), 'payload_too_large', /20000x20000/);
    assert.ok(process.memoryUsage().rss - before < 300 * 1024 * 1024, 'the bomb was decoded');
    await rejectsWith(preprocess(resized, body(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'))), 'bad_request', /^image: instance 0 is a svg image; send PNG, JPEG, WebP or GIF$/);
    await rejectsWith(preprocess(resized, body(Buffer.from('plain words'))), 'bad_request', /^image: instance 0 is not a PNG, JPEG, WebP or GIF image/);
    const truncated = (await png()).subarray(0, 40);
    await rejectsWith(preprocess(resized, body(truncated)), 'bad_request', /^image: instance 0 /);
  });

  it('tells the accepted formats by their first bytes', async () => {
    assert.equal(sniffFormat(await png()), 'png');
    assert.equal(sniffFormat(await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } }).jpeg().toBuffer()), 'jpeg');
    assert.equal(sniffFormat(await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } }).webp().toBuffer()), 'webp');
    assert.equal(sniffFormat(await sharp({ create: { width: 2, height: 2, channels: 3, background: 'red' } }).gif().toBuffer()), 'gif');
    assert.equal(sniffFormat(Buffer.from('GIF8')), undefined);
    assert.equal(sniffFormat(Buffer.from('RIFF0000WAVE')), undefined);
  });

  it('maxPixels is per image and configurable', async () => {
    const step = buildStep(image, { maxPixels: 99 });
    await rejectsWith(preprocess(step, stepRequest({ instances: [b64(await solidImage(9, 11, [0, 0, 0])), b64(await solidImage(10, 10, [0, 0, 0]))] })),
      'payload_too_large', /^image: instance 1 is 10x10 \(100 pixels\), above this model's limit of 99 pixels/);
  });

  it('bytes that are not an image, or an image of another format, are 400 naming the instance', async () => {
    const good = b64(await png());
    await rejectsWith(preprocess(buildStep(image, {}), stepRequest({ instances: [good, good, b64(Buffer.from('not an image at all'))] })),
      'bad_request', /^image: instance 2 is not a PNG, JPEG, WebP or GIF image/);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4" height="4"/></svg>');
    await rejectsWith(preprocess(buildStep(image, {}), body(svg)), 'bad_request', /^image: instance 0 is a svg image; send PNG, JPEG, WebP or GIF$/);
    const cut = (await png()).subarray(0, 40);
    await rejectsWith(preprocess(buildStep(image, {}), body(cut)), 'bad_request', /^image: instance 0 is not a PNG/);
  });

  it('instances that are not base64 images are 400 naming the instance', async () => {
    const step = buildStep(image, {});
    const good = b64(await png());
    await rejectsWith(preprocess(step, stepRequest({ instances: [good, '!!! not base64 !!!'] })), 'bad_request', /^image: instance 1 is not base64 text$/);
    await rejectsWith(preprocess(step, stepRequest({ instances: [42] })), 'bad_request', /^image: instance 0 is number 42; expected a base64 string/);
    await rejectsWith(preprocess(step, stepRequest({ instances: [good, { a: 1, b: 2 }] })), 'bad_request', /^image: instance 1 has the keys "a", "b"/);
    await rejectsWith(preprocess(step, stepRequest({ instances: [{ b64: 7 }] })), 'bad_request', /^image: instance 0 is number 7/);
    await rejectsWith(preprocess(step, stepRequest({ instances: [''] })), 'bad_request', /^image: instance 0 is empty$/);
    await rejectsWith(preprocess(step, stepRequest({ instances: [] })), 'bad_request', /^image: the request carries no images$/);
  });

  it('more images than maxImages are 400', async () => {
    const good = b64(await png());
    await rejectsWith(preprocess(buildStep(image, { maxImages: 2 }), stepRequest({ instances: [good, good, good] })),
      'bad_request', /^image: the request carries 3 images; this model takes at most 2 per request \(maxImages\)$/);
  });

  it('images of different sizes without a resize are 400 naming the instance; with one they batch', async () => {
    const instances = [b64(await solidImage(2, 2, [0, 0, 0])), b64(await solidImage(3, 2, [0, 0, 0]))];
    await rejectsWith(preprocess(buildStep(image, {}), stepRequest({ instances })), 'bad_request', /^image: instance 1 is 3x2 but instance 0 is 2x2/);
    const t = await tensorOf({ width: 2, height: 2 }, stepRequest({ instances }));
    assert.deepEqual(t.shape, [2, 3, 2, 2]);
  });

  it('a crop larger than an image that is not resized is 400', async () => {
    await rejectsWith(preprocess(buildStep(image, { crop: 3 }), body(await png())), 'bad_request', /^image: instance 0 is 2x2, smaller than the 3x3 crop$/);
  });

  it('a body that is not an image type is 415; JSON without instances, or no body, is 400', async () => {
    await rejectsWith(preprocess(buildStep(image, {}), body(Buffer.from('a,b\n'), 'text/csv')), 'unsupported_media_type',
      /^image: content type "text\/csv" is not an image; send image\/png, image\/jpeg, image\/webp or image\/gif$/);
    await rejectsWith(preprocess(buildStep(image, {}), body(Buffer.from('{"x":1}'), 'application/json')), 'bad_request', /^image: a JSON body needs "instances"/);
    await rejectsWith(preprocess(buildStep(image, {}), stepRequest()), 'bad_request', /^image: the request carries no image/);
  });

  it('a tensor request needs exactly one BYTES input', async () => {
    const numeric: Tensor = { name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array(1) };
    await rejectsWith(preprocess(buildStep(image, {}), stepRequest({ inputs: [numeric] })), 'bad_request', /^image: a tensor request needs one BYTES input of encoded images; got "x" \(FP32\)$/);
  });

  it('a call already aborted decodes nothing and rejects with its reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await rejectsWith(preprocess(buildStep(image, {}), body(await png()), stepCall(controller.signal)), 'client_closed', /the image decode was aborted/);
  });
});

describe('image: config', () => {
  const bad = (config: unknown, pattern: RegExp): void => {
    const r = imageSchema.safeParse(config);
    assert.equal(r.success, false, JSON.stringify(config));
    assert.match(JSON.stringify(r.error!.issues), pattern);
  };

  it('defaults: cover, lanczos3, rgb, NCHW, FP32, scale 1, 16 M pixels, 64 images', () => {
    assert.deepEqual(imageSchema.parse({}), { fit: 'cover', kernel: 'lanczos3', channels: 'rgb', layout: 'NCHW', datatype: 'FP32', scale: 1, maxPixels: 4096 * 4096, maxImages: 64 });
  });

  it('refuses what cannot work, naming the key', () => {
    bad({ width: 224 }, /give width and height together/);
    bad({ mean: [0.5, 0.5] }, /mean has 2 values; rgb has 3 channels/);
    bad({ channels: 'gray', std: [1, 1, 1] }, /std has 3 values; gray has 1 channel /);
    bad({ datatype: 'UINT8', mean: [1] }, /mean needs datatype FP32/);
    bad({ datatype: 'UINT8', scale: 0.5 }, /scale needs datatype FP32/);
    bad({ width: 100, height: 100, crop: 101 }, /the 101x101 crop is larger than the 100x100 resize/);
    bad({ std: [0] }, /too_small/);
    bad({ maxPixels: 2 ** 30 }, /too_big/);
    bad({ maxImages: 0 }, /too_small/);
    bad({ width: 0, height: 10 }, /too_small/);
    bad({ layout: 'CHW' }, /NCHW/);
    bad({ colour: 'rgb' }, /unrecognized_keys/);
  });
});
