// fake-triton.ts (test support) — a stand-in for Triton Inference Server, which cannot run on
// these machines. It follows the KServe v2 REST protocol
// (https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md), Triton's
// binary tensor data extension (server/docs/protocol/extension_binary_data.md) and the model
// configuration extension (server/docs/protocol/extension_model_configuration.md: GET
// v2/models/{m}[/versions/{v}]/config), written from those documents and independent of the
// gateway's codecs so that each checks the other. It serves one real model:
//   linear (version 1): x FP32 [-1, 4] → y FP32 [-1, 2], y = x·W + b, max_batch_size 8.
// Failure modes: not ready, a full queue (503 "Exceeds maximum queue size", as Triton answers),
// a scripted status/body for the next infer, and a broken metadata endpoint.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** linearWeights are W (4×2) and b (2) of the fake's model, so tests can compute the expected answer. */
export const linearWeights = { W: [[1, 0], [0, 1], [1, 1], [0.5, -1]], b: [0.25, -0.5] };

/** linearModel computes y = x·W + b for rows of 4 numbers, as the fake servers do. */
export function linearModel(rows: number[][]): number[][] {
  return rows.map((x) => [0, 1].map((j) => Math.fround(x.reduce((s, xi, i) => s + xi * linearWeights.W[i]![j]!, linearWeights.b[j]!))));
}

export interface RecordedCall {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** FakeTriton is a running fake server with knobs for its failure modes. */
export interface FakeTriton {
  url: string;
  calls: RecordedCall[];
  /** Server readiness (GET /v2/health/ready). */
  ready: boolean;
  /** Answer every infer with 503 queue full while set. */
  queueFull: boolean;
  /** Answer GET metadata with 500 while set. */
  metadataBroken: boolean;
  /** The next infer answers this status and body instead. */
  failNext(status: number, body: unknown): void;
  close(): Promise<void>;
}

const metadata = {
  name: 'linear', versions: ['1'], platform: 'onnxruntime_onnx',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};
const config = {
  name: 'linear', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 8,
  input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
  output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }],
  dynamic_batching: { max_queue_delay_microseconds: 100, default_queue_policy: { max_queue_size: 30 } },
};

/** startFakeTriton listens on 127.0.0.1 port 0. */
export async function startFakeTriton(): Promise<FakeTriton> {
  let scripted: { status: number; body: unknown } | undefined;
  const fake: FakeTriton = {
    url: '', calls: [], ready: true, queueFull: false, metadataBroken: false,
    failNext(status, body) { scripted = { status, body }; },
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      fake.calls.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      try {
        route(req, res, body);
      } catch (err) {
        json(res, 400, { error: (err as Error).message });
      }
    });
  });

  function route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const path = req.url!.split('?')[0]!;
    if (path === '/v2/health/live') return empty(res, 200);
    if (path === '/v2/health/ready') return empty(res, fake.ready ? 200 : 503);
    if (path === '/v2') return json(res, 200, { name: 'triton', version: '2.50.0', extensions: ['binary_tensor_data', 'model_configuration'] });
    const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/config|\/infer)?$/.exec(path);
    if (m === null) return json(res, 404, { error: `unknown path ${path}` });
    const [, model, version, action] = m;
    if (model !== 'linear' || (version !== undefined && version !== '1')) {
      return json(res, 400, { error: `Request for unknown model: '${model}' version ${version ?? '-1'} is not found` });
    }
    if (action === '/ready') return empty(res, fake.ready ? 200 : 400);
    if (action === undefined) return fake.metadataBroken ? json(res, 500, { error: 'metadata unavailable' }) : json(res, 200, metadata);
    if (action === '/config') return json(res, 200, config);
    if (req.method !== 'POST') return json(res, 405, { error: 'infer needs POST' });
    if (scripted !== undefined) {
      const s = scripted;
      scripted = undefined;
      return json(res, s.status, s.body);
    }
    if (fake.queueFull) return json(res, 503, { error: "Exceeds maximum queue size" });
    infer(req, res, body);
  }

  function infer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const headerHeader = req.headers['inference-header-content-length'];
    const headerLength = headerHeader === undefined ? body.length : Number(headerHeader);
    const request = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    let offset = headerLength;
    if (!Array.isArray(request.inputs) || request.inputs.length !== 1 || request.inputs[0].name !== 'x') {
      throw new Error("expected 1 inputs for model 'linear': x");
    }
    const x = request.inputs[0];
    if (x.datatype !== 'FP32') throw new Error(`inference input 'x' data-type is '${x.datatype}', but model 'linear' expects 'FP32'`);
    if (!Array.isArray(x.shape) || x.shape.length !== 2 || x.shape[1] !== 4 || x.shape[0] > config.max_batch_size) {
      throw new Error(`unexpected shape for input 'x' for model 'linear'. Expected [-1,4], got [${x.shape}]`);
    }
    const n = x.shape[0] * 4;
    let values: number[];
    const size = x.parameters?.binary_data_size;
    if (size !== undefined) {
      if (size !== n * 4) throw new Error(`unexpected total byte size ${size} for input 'x', expecting ${n * 4}`);
      const bytes = body.subarray(offset, offset + size);
      offset += size;
      values = Array.from({ length: n }, (_, i) => bytes.readFloatLE(i * 4));
    } else {
      values = (x.data as unknown[]).flat(3) as number[];
      if (values.length !== n) throw new Error(`unexpected number of elements for input 'x': ${values.length}, expected ${n}`);
    }
    if (offset !== body.length) throw new Error('unexpected additional input data');
    const rows = Array.from({ length: x.shape[0] }, (_, i) => values.slice(i * 4, i * 4 + 4));
    const y = linearModel(rows).flat();
    const wanted = (request.outputs ?? []) as Array<{ name: string; parameters?: { binary_data?: boolean } }>;
    if (wanted.some((o) => o.name !== 'y')) throw new Error(`unexpected inference output '${wanted.find((o) => o.name !== 'y')!.name}' for model 'linear'`);
    const binary = wanted[0]?.parameters?.binary_data ?? request.parameters?.binary_data_output === true;
    const out: Record<string, unknown> = { name: 'y', datatype: 'FP32', shape: [x.shape[0], 2] };
    const response: Record<string, unknown> = { model_name: 'linear', model_version: '1', outputs: [out] };
    if (request.id !== undefined) response.id = request.id;
    if (!binary) {
      out.data = y;
      return json(res, 200, response);
    }
    const data = Buffer.alloc(y.length * 4);
    y.forEach((v, i) => data.writeFloatLE(v, i * 4));
    out.parameters = { binary_data_size: data.length };
    const header = Buffer.from(JSON.stringify(response));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) });
    res.end(Buffer.concat([header, data]));
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function empty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'content-length': '0' });
  res.end();
}
