// fake-triton.ts (test support) — a stand-in for Triton Inference Server, which cannot run on
// these machines. It follows the KServe v2 REST protocol
// (https://github.com/kserve/kserve/blob/master/docs/predict-api/v2/required_api.md), Triton's
// binary tensor data extension (server/docs/protocol/extension_binary_data.md) and the model
// configuration extension (server/docs/protocol/extension_model_configuration.md: GET
// v2/models/{m}[/versions/{v}]/config), written from those documents and independent of the
// gateway's codecs so that each checks the other. Its models:
//   linear (version 1): x FP32 [-1, 4] → y FP32 [-1, 2], y = x·W + b, max_batch_size 8.
//   spectrum: x FP32 [-1, 4] → y FP32 [-1, 8, 16] (spectrumRow), max_batch_size 8.
// It also serves the generate extension (server/docs/protocol/extension_generate.md) for one
// decoupled model, `llm`: generate answers one $generate_response, generate_stream one SSE event
// per token, `tokenGapMs` apart; text_output is "w0 w1 ..." for parameters.max_tokens words.
// Failure modes: not ready, a full queue (503 "Exceeds maximum queue size", as Triton answers),
// a scripted status/body for the next infer, and a broken metadata endpoint. The model repository
// extension (server/docs/protocol/extension_model_repository.md) answers as Triton does with
// --model-control-mode=explicit: index, load and unload; an unloaded model is unknown to the
// model routes until loaded again.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { startRecordingServer, type RecordedCall } from './fake-server.ts';

export type { RecordedCall } from './fake-server.ts';

/** linearWeights are W (4×2) and b (2) of the fake's model, so tests can compute the expected answer. */
export const linearWeights = { W: [[1, 0], [0, 1], [1, 1], [0.5, -1]], b: [0.25, -0.5] };

/** linearModel computes y = x·W + b for rows of 4 numbers, as the fake servers do. */
export function linearModel(rows: number[][]): number[][] {
  return rows.map((x) => [0, 1].map((j) => Math.fround(x.reduce((s, xi, i) => s + xi * linearWeights.W[i]![j]!, linearWeights.b[j]!))));
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
  /** Gap between two generate_stream events. */
  tokenGapMs: number;
  /** The next infer answers this status and body instead. */
  failNext(status: number, body: unknown): void;
  /** Models unloaded (explicit model control); the others are loaded. */
  unloaded: Set<string>;
  close(): Promise<void>;
}

interface FakeModel {
  metadata: { name: string; versions: string[]; platform: string; inputs: unknown[]; outputs: unknown[] };
  config: { name: string; max_batch_size: number; input: Array<{ name: string; data_type: string; dims: number[] }>; output: Array<{ name: string; data_type: string; dims: number[] }> } & Record<string, unknown>;
  /** Computes the one output's flat values from the one input's flat values and shape. */
  run(values: number[], shape: number[]): number[];
}

const models: Record<string, FakeModel> = {
  linear: {
    metadata: {
      name: 'linear', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
    },
    config: {
      name: 'linear', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2] }],
      dynamic_batching: { max_queue_delay_microseconds: 100, default_queue_policy: { max_queue_size: 30 } },
    },
    run: (values, shape) => linearModel(Array.from({ length: shape[0]! }, (_, i) => values.slice(i * 4, i * 4 + 4))).flat(),
  },
  // A model without a batch dimension (max_batch_size 0): w = 2·v for one vector of 3.
  double: {
    metadata: {
      name: 'double', versions: ['1'], platform: 'pytorch_libtorch',
      inputs: [{ name: 'v', datatype: 'FP32', shape: [3] }],
      outputs: [{ name: 'w', datatype: 'FP32', shape: [3] }],
    },
    config: {
      name: 'double', platform: 'pytorch_libtorch', max_batch_size: 0,
      input: [{ name: 'v', data_type: 'TYPE_FP32', dims: [3] }],
      output: [{ name: 'w', data_type: 'TYPE_FP32', dims: [3] }],
    },
    run: (values) => values.map((v) => Math.fround(2 * v)),
  },
  // An image model whose requests are large (110 KB a row): y = the sum of each channel.
  channels: {
    metadata: {
      name: 'channels', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3, 96, 96] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    },
    config: {
      name: 'channels', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 4,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [3, 96, 96] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [3] }],
    },
    run: (values, shape) => channelSums(values, shape[0]!),
  },
  // A model whose answers are large and nested: 8 × 16 values a row, of every magnitude.
  spectrum: {
    metadata: {
      name: 'spectrum', versions: ['1'], platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 8, 16] }],
    },
    config: {
      name: 'spectrum', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 8,
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [4] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [8, 16] }],
    },
    run: (values, shape) => Array.from({ length: shape[0]! }, (_, r) => spectrumRow(values.slice(r * 4, r * 4 + 4))).flat(),
  },
};

/** spectrumRow is the `spectrum` model for one row of 4: 128 float32 values, 1e-4 to 1e4 times x0, zeros among them. */
export function spectrumRow(x: number[]): number[] {
  return Array.from({ length: 128 }, (_, k) => Math.fround((x[0]! * (k - 64) * 10 ** ((k % 9) - 4)) / 3 + x[1]! * (k % 7 === 0 ? 0 : 1e-3)));
}

/** channelSums is the `channels` model: per row of 3 × 96 × 96 values, each channel's sum. */
export function channelSums(values: ArrayLike<number>, rows: number): number[] {
  const plane = 96 * 96;
  const out: number[] = [];
  for (let r = 0; r < rows * 3; r++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += values[r * plane + i]!;
    out.push(Math.fround(sum));
  }
  return out;
}

/** startFakeTriton listens on 127.0.0.1 port 0. */
export async function startFakeTriton(): Promise<FakeTriton> {
  let scripted: { status: number; body: unknown } | undefined;
  const fake: FakeTriton = {
    url: '', calls: [], ready: true, queueFull: false, metadataBroken: false, tokenGapMs: 5, unloaded: new Set(),
    failNext(status, body) { scripted = { status, body }; },
    close: () => server.close(),
  };
  const server = await startRecordingServer(fake.calls, (req, res, body) => {
    try {
      route(req, res, body);
    } catch (err) {
      json(res, 400, { error: (err as Error).message });
    }
  });
  fake.url = server.url;

  function route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const path = req.url!.split('?')[0]!;
    if (path === '/v2/health/live') return empty(res, 200);
    if (path === '/v2/health/ready') return empty(res, fake.ready ? 200 : 503);
    if (path === '/v2') return json(res, 200, { name: 'triton', version: '2.50.0', extensions: ['binary_tensor_data', 'model_configuration', 'model_repository'] });
    if (path === '/v2/repository/index' && req.method === 'POST') {
      return json(res, 200, Object.keys(models).map((name) => (fake.unloaded.has(name)
        ? { name, version: '1', state: 'UNAVAILABLE', reason: 'unloaded' } : { name, version: '1', state: 'READY', reason: '' })));
    }
    const repo = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/.exec(path);
    if (repo !== null && req.method === 'POST') {
      const [, name, verb] = repo;
      if (models[name!] === undefined) return json(res, 400, { error: `failed to load '${name}', failed to poll from model repository` });
      if (verb === 'load') fake.unloaded.delete(name!);
      else fake.unloaded.add(name!);
      return json(res, 200, {});
    }
    const m = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/config|\/infer|\/generate|\/generate_stream)?$/.exec(path);
    if (m === null) return json(res, 404, { error: `unknown path ${path}` });
    const [, model, version, action] = m;
    if (model === 'llm') return generate(req, res, body, action);
    const spec = models[model!];
    if (spec === undefined || fake.unloaded.has(model!) || (version !== undefined && version !== '1')) {
      return json(res, 400, { error: `Request for unknown model: '${model}' version ${version ?? '-1'} is not found` });
    }
    if (action === '/ready') return empty(res, fake.ready ? 200 : 400);
    if (action === undefined) return fake.metadataBroken ? json(res, 500, { error: 'metadata unavailable' }) : json(res, 200, spec.metadata);
    if (action === '/config') return json(res, 200, spec.config);
    if (req.method !== 'POST') return json(res, 405, { error: 'infer needs POST' });
    if (scripted !== undefined) {
      const s = scripted;
      scripted = undefined;
      return json(res, s.status, s.body);
    }
    if (fake.queueFull) return json(res, 503, { error: "Exceeds maximum queue size" });
    infer(req, res, body, spec);
  }

  // generate answers the generate extension for `llm`, whose metadata names text_input and
  // text_output (BYTES), as a TensorRT-LLM or vLLM-backend model's does.
  function generate(req: IncomingMessage, res: ServerResponse, body: Buffer, action: string | undefined): void {
    if (action === undefined) {
      return json(res, 200, { name: 'llm', versions: ['1'], platform: 'vllm', inputs: [{ name: 'text_input', datatype: 'BYTES', shape: [1] }], outputs: [{ name: 'text_output', datatype: 'BYTES', shape: [-1] }] });
    }
    if (action === '/ready') return empty(res, fake.ready ? 200 : 400);
    if (action === '/config') return json(res, 200, { name: 'llm', max_batch_size: 0, model_transaction_policy: { decoupled: true } });
    if (action !== '/generate' && action !== '/generate_stream') return json(res, 400, { error: 'llm is decoupled: use generate_stream' });
    const request = JSON.parse(body.toString('utf8')) as { text_input?: unknown; parameters?: { max_tokens?: number } };
    if (typeof request.text_input !== 'string') return json(res, 400, { error: "input 'text_input' is missing" });
    const words = Array.from({ length: request.parameters?.max_tokens ?? 3 }, (_, i) => `w${i}`);
    const answer = (text: string) => ({ model_name: 'llm', model_version: '1', text_output: text });
    if (action === '/generate') return json(res, 200, answer(words.join(' ')));
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    let i = 0;
    const next = (): void => {
      if (res.destroyed) return;
      if (i === words.length) return void res.end();
      res.write(`data: ${JSON.stringify(answer(`${i === 0 ? '' : ' '}${words[i++]}`))}\n\n`);
      setTimeout(next, fake.tokenGapMs);
    };
    next();
  }

  function infer(req: IncomingMessage, res: ServerResponse, body: Buffer, model: FakeModel): void {
    const headerHeader = req.headers['inference-header-content-length'];
    const headerLength = headerHeader === undefined ? body.length : Number(headerHeader);
    const request = JSON.parse(body.subarray(0, headerLength).toString('utf8'));
    let offset = headerLength;
    const { config } = model;
    const name = config.name;
    const want = config.input[0]!;
    if (!Array.isArray(request.inputs) || request.inputs.length !== 1 || request.inputs[0].name !== want.name) {
      throw new Error(`expected 1 inputs for model '${name}': ${want.name}`);
    }
    const x = request.inputs[0];
    if (x.datatype !== 'FP32') throw new Error(`inference input '${want.name}' data-type is '${x.datatype}', but model '${name}' expects 'FP32'`);
    const batched = config.max_batch_size > 0;
    const dims = batched ? x.shape?.slice(1) : x.shape;
    if (!Array.isArray(x.shape) || JSON.stringify(dims) !== JSON.stringify(want.dims) || (batched && x.shape[0] > config.max_batch_size)) {
      throw new Error(`unexpected shape for input '${want.name}' for model '${name}'. Expected ${batched ? '[-1,' : '['}${want.dims.join(',')}], got [${x.shape}]`);
    }
    const n = (x.shape as number[]).reduce((a, b) => a * b, 1);
    let values: number[];
    const size = x.parameters?.binary_data_size;
    if (size !== undefined) {
      if (size !== n * 4) throw new Error(`unexpected total byte size ${size} for input '${want.name}', expecting ${n * 4}`);
      const bytes = body.subarray(offset, offset + size);
      offset += size;
      values = Array.from({ length: n }, (_, i) => bytes.readFloatLE(i * 4));
    } else {
      values = (x.data as unknown[]).flat(3) as number[];
      if (values.length !== n) throw new Error(`unexpected number of elements for input '${want.name}': ${values.length}, expected ${n}`);
    }
    if (offset !== body.length) throw new Error('unexpected additional input data');
    const y = model.run(values, x.shape);
    const outName = config.output[0]!.name;
    const wanted = (request.outputs ?? []) as Array<{ name: string; parameters?: { binary_data?: boolean } }>;
    const unknown = wanted.find((o) => o.name !== outName);
    if (unknown !== undefined) throw new Error(`unexpected inference output '${unknown.name}' for model '${name}'`);
    const binary = wanted[0]?.parameters?.binary_data ?? request.parameters?.binary_data_output === true;
    const outShape = batched ? [x.shape[0], ...config.output[0]!.dims] : config.output[0]!.dims;
    const out: Record<string, unknown> = { name: outName, datatype: 'FP32', shape: outShape };
    const response: Record<string, unknown> = { model_name: name, model_version: '1', outputs: [out] };
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
