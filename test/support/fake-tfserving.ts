// fake-tfserving.ts (test support) — a stand-in for TensorFlow Serving's REST API, which cannot
// run on these machines, written from its document
// (https://github.com/tensorflow/serving/blob/master/tensorflow_serving/g3doc/api_rest.md):
// model status, /metadata (GetModelMetadataResponse with signature_def), :predict in row
// (`instances` → `predictions`) and columnar (`inputs` → `outputs`) formats, `{"error": ...}`
// bodies, and NaN / Infinity written as bare tokens, as TF Serving writes them. It parses its
// own JSON (not the gateway's codec) so the two check each other. One real model:
//   linear (version 1, label "stable"): signature serving_default, x DT_FLOAT [-1, 4] → y DT_FLOAT [-1, 2], y = x·W + b.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { startRecordingServer, type RecordedCall } from './fake-server.ts';
import { linearModel } from './fake-triton.ts';

/** FakeTfServing is a running fake server with knobs for its failure modes. */
export interface FakeTfServing {
  url: string;
  calls: RecordedCall[];
  /** The model version's state in the status answer. */
  state: 'AVAILABLE' | 'LOADING' | 'UNLOADING' | 'END';
  /** The next :predict answers this status and raw body text instead. */
  failNext(status: number, text: string): void;
  close(): Promise<void>;
}

const dim = (size: number) => ({ size: String(size), name: '' });
const metadata = {
  model_spec: { name: 'linear', signature_name: '', version: '1' },
  metadata: {
    signature_def: {
      signature_def: {
        serving_default: {
          inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [dim(-1), dim(4)], unknown_rank: false }, name: 'serving_default_x:0' } },
          outputs: { y: { dtype: 'DT_FLOAT', tensor_shape: { dim: [dim(-1), dim(2)], unknown_rank: false }, name: 'StatefulPartitionedCall:0' } },
          method_name: 'tensorflow/serving/predict',
        },
      },
    },
  },
};

/** startFakeTfServing listens on 127.0.0.1 port 0. */
export async function startFakeTfServing(): Promise<FakeTfServing> {
  let scripted: { status: number; text: string } | undefined;
  const fake: FakeTfServing = {
    url: '', calls: [], state: 'AVAILABLE',
    failNext(status, text) { scripted = { status, text }; },
    close: () => server.close(),
  };
  const server = await startRecordingServer(fake.calls, (req, res, body) => {
    try {
      route(req, res, body);
    } catch (err) {
      reply(res, 400, { error: (err as Error).message });
    }
  });
  fake.url = server.url;

  function route(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const m = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(\/metadata|:predict)?$/.exec(req.url!);
    if (m === null) return reply(res, 404, { error: `Malformed request: ${req.method} ${req.url}` });
    const [, model, version, label, action] = m;
    const spec = version !== undefined ? version : label !== undefined ? `label ${label}` : 'Latest';
    if (model !== 'linear' || (version !== undefined && version !== '1') || (label !== undefined && label !== 'stable')) {
      return reply(res, 404, { error: `Servable not found for request: ${spec}(${model})` });
    }
    if (action === undefined) {
      return reply(res, 200, { model_version_status: [{ version: '1', state: fake.state, status: { error_code: 'OK', error_message: '' } }] });
    }
    if (action === '/metadata') return reply(res, 200, metadata);
    if (req.method !== 'POST') return reply(res, 405, { error: 'predict needs POST' });
    if (scripted !== undefined) {
      const s = scripted;
      scripted = undefined;
      res.writeHead(s.status, { 'content-type': 'application/json' });
      res.end(s.text);
      return;
    }
    predict(res, parseTokens(body.toString('utf8')) as Record<string, unknown>);
  }

  function predict(res: ServerResponse, doc: Record<string, unknown>): void {
    if (doc.signature_name !== undefined && doc.signature_name !== 'serving_default') {
      throw new Error(`Serving signature name: "${String(doc.signature_name)}" not found in signature def`);
    }
    if ((doc.instances === undefined) === (doc.inputs === undefined)) {
      throw new Error('JSON object: does not have named "instances" or "inputs" field, or has both');
    }
    if (doc.instances !== undefined) {
      const rows = (doc.instances as unknown[]).map((inst) => (Array.isArray(inst) ? inst : (inst as { x?: unknown }).x));
      checkRows(rows);
      return reply(res, 200, { predictions: linearModel(rows as number[][]) });
    }
    const inputs = doc.inputs as unknown;
    const x = Array.isArray(inputs) ? inputs : (inputs as { x?: unknown }).x;
    if (!Array.isArray(x)) throw new Error('Missing input: x');
    checkRows(x);
    // A signature with one output: "outputs" is that tensor's value, without its name (api_rest.md).
    reply(res, 200, { outputs: linearModel(x as number[][]) });
  }

  return fake;
}

function checkRows(rows: unknown[]): void {
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== 4 || !r.every((v) => typeof v === 'number')) {
      throw new Error(`Input to reshape is a tensor with a different shape: instance ${i} of "x" must be 4 floats`);
    }
  });
}

// TF Serving's JSON: NaN and ±Infinity are bare tokens both ways.
function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) =>
    (typeof v === 'number' && !Number.isFinite(v) ? `@@${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}@@` : v));
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(text.replace(/"@@(NaN|Infinity|-Infinity)@@"/g, '$1'));
}

function parseTokens(text: string): unknown {
  const marked = text.replace(/([[,:]\s*)(NaN|-?Infinity)(?=\s*[\],}])/g, '$1"@@$2@@"');
  return JSON.parse(marked, (_k, v: unknown) =>
    (typeof v === 'string' && /^@@(NaN|-?Infinity)@@$/.test(v) ? Number(v.slice(2, -2)) : v));
}
