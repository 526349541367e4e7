// image-classifier.test.ts — examples/image-classifier/config.yaml run as shipped (in place, on
// free ports): real PNG and JPEG images made with sharp go in as Vertex b64 instances, raw
// image bodies (Vertex and SageMaker routes), KServe v1 instances and a v2 BYTES tensor, and come
// back as the names of their dominant colours. Bad input gets the right status: not an image
// (400), not an image type (415), too many pixels or too many bytes (413), too many images (400).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { expectError } from '../support/expect-error.ts';
import { startGatewayFromFile, type RunningGateway } from '../support/gateway.ts';

const config = fileURLToPath(new URL('../../examples/image-classifier/config.yaml', import.meta.url));

let gw: RunningGateway;

before(async () => {
  gw = await startGatewayFromFile(config, { env: { AIP_PREDICT_ROUTE: '/predict', AIP_HEALTH_ROUTE: '/health', INFERGATE_MODEL_REPOSITORY: '' } });
});
after(async () => { await gw.stop(); });

/** photo makes a width×height image of colour rgb with a fixed noise of ±noise per sample. */
async function photo(format: 'png' | 'jpeg', rgb: number[], opts: { width?: number; height?: number; noise?: number } = {}): Promise<Buffer> {
  const { width = 224, height = 160, noise = 50 } = opts;
  let seed = rgb[0]! * 65536 + rgb[1]! * 256 + rgb[2]! + 1;
  const rand = (): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed / 2 ** 32; };
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = Math.max(0, Math.min(255, Math.round(rgb[i % 3]! + (rand() - 0.5) * 2 * noise)));
  const image = sharp(px, { raw: { width, height, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 85 }).toBuffer();
}

const red = [210, 40, 50], green = [30, 190, 60], blue = [40, 70, 220];

function post(path: string, body: string | Buffer, contentType: string): Promise<Response> {
  return fetch(`${gw.url}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
}

async function predictions(res: Response): Promise<unknown[]> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return (JSON.parse(text) as { predictions: unknown[] }).predictions;
}

test('Vertex b64 instances of PNG and JPEG images come back as their colours, in order', async () => {
  const images = [await photo('png', red), await photo('jpeg', green), await photo('jpeg', blue), await photo('png', blue, { width: 32, height: 32, noise: 0 })];
  const body = JSON.stringify({ instances: images.map((b) => ({ b64: b.toString('base64') })) });
  assert.deepEqual(await predictions(await post('/predict', body, 'application/json')), ['red', 'green', 'blue', 'blue']);
});

test('a raw image/png or image/jpeg body is one image, on the Vertex and the SageMaker routes', async () => {
  assert.deepEqual(await predictions(await post('/predict', await photo('png', red, { width: 640, height: 480 }), 'image/png')), ['red']);
  assert.deepEqual(await predictions(await post('/predict', await photo('jpeg', green), 'image/jpeg')), ['green']);
  const res = await post('/invocations', await photo('jpeg', blue), 'image/jpeg');
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(text, /"blue"/);
  assert.doesNotMatch(text, /"red"|"green"/);
});

test('KServe v1 instances and a v2 BYTES tensor of encoded images are classified too', async () => {
  const v1 = JSON.stringify({ instances: [{ b64: (await photo('jpeg', red)).toString('base64') }, { b64: (await photo('png', green)).toString('base64') }] });
  assert.deepEqual(await predictions(await post('/v1/models/classifier:predict', v1, 'application/json')), ['red', 'green']);
  // v2 binary tensor extension: a BYTES element is a 4-byte little-endian length, then the bytes.
  const png = await photo('png', blue);
  const element = Buffer.concat([Buffer.from(new Uint32Array([png.length]).buffer), png]);
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'image', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: element.length } }] }));
  const res = await fetch(`${gw.url}/v2/models/classifier/infer`, {
    method: 'POST', body: Buffer.concat([header, element]),
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) },
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const out = (JSON.parse(text) as { outputs: Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }> }).outputs;
  assert.deepEqual(out.map((o) => [o.name, o.datatype, o.shape, o.data]), [['probabilities', 'BYTES', [1], ['blue']]]);
});

test('what is not an image is a 400 naming the instance, and a type that is not an image is a 415', async () => {
  const notImage = JSON.stringify({ instances: [{ b64: (await photo('png', red)).toString('base64') }, { b64: Buffer.from('hello, not a picture').toString('base64') }] });
  let body = await expectError(await post('/predict', notImage, 'application/json'), 400, 'bad_request', 'b64 of text');
  assert.match(body.error, /instance 1 is not a PNG, JPEG, WebP or GIF image/);
  body = await expectError(await post('/predict', Buffer.from('GIF? no, plain text'), 'image/png'), 400, 'bad_request', 'text sent as image/png');
  assert.match(body.error, /not a PNG, JPEG, WebP or GIF image/);
  body = await expectError(await post('/predict', JSON.stringify({ instances: [{ image: 'red.png' }] }), 'application/json'), 400, 'bad_request', 'instance without b64');
  assert.match(body.error, /instance 0 has the keys "image"; expected \{"b64"/);
  body = await expectError(await post('/predict', JSON.stringify({ pictures: [] }), 'application/json'), 400, 'bad_request', 'JSON without instances');
  assert.match(body.error, /"instances": \[\{"b64"/);
  body = await expectError(await post('/predict', 'a,b\n1,2\n', 'text/csv'), 415, 'unsupported_media_type', 'CSV');
  assert.match(body.error, /text\/csv/);
});

test('an image over maxPixels is a 413 read from its header, a body over maxBodyBytes a 413, more than maxImages a 400', async () => {
  const huge = await sharp({ create: { width: 4097, height: 4097, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
  let body = await expectError(await post('/predict', huge, 'image/png'), 413, 'payload_too_large', '4097x4097 PNG');
  assert.match(body.error, /4097x4097 \(16785409 pixels\), above this model's limit of 16777216 pixels/);
  await expectError(await post('/predict', Buffer.alloc(9 * 1024 * 1024, 0xff), 'image/jpeg'), 413, 'payload_too_large', '9 MB body');
  const one = { b64: (await photo('png', red, { width: 32, height: 32, noise: 0 })).toString('base64') };
  body = await expectError(await post('/predict', JSON.stringify({ instances: Array.from({ length: 17 }, () => one) }), 'application/json'), 400, 'bad_request', '17 images');
  assert.match(body.error, /17 images; this model takes at most 16/);
  // Refusals leave the gateway serving.
  assert.deepEqual(await predictions(await post('/predict', JSON.stringify({ instances: [one] }), 'application/json')), ['red']);
});
