// fake-triton-grpc.ts (test support) — a stand-in for Triton's gRPC endpoint (port 8001), which
// cannot run on these machines. It serves inference.GRPCInferenceService from the project's
// .proto (the KServe grpc_predict_v2 contract plus Triton's ModelConfig), written from the
// protocol documents and independent of the gateway's codec: it reads inputs from typed contents
// or raw_input_contents and always answers raw_output_contents, as Triton does; it answers an
// unknown model with INVALID_ARGUMENT "Request for unknown model: ... is not found" and a full
// queue with UNAVAILABLE "Exceeds maximum queue size", Triton's own codes and words. It serves
// the same model as fake-triton.ts: linear (version 1): x FP32 [-1, 4] → y FP32 [-1, 2],
// max_batch_size 8. Knobs: readiness, a full queue, and holding infer calls (to see a cancel
// reach the server: `cancelled` counts held calls whose client went away).

import { Server, ServerCredentials, status, type Metadata, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { inferenceDefinition } from './grpc-client.ts';
import { linearModel } from './fake-triton.ts';

/** FakeTritonGrpcCall is one ModelInfer as the fake received it. */
export interface FakeTritonGrpcCall { request: Record<string, any>; metadata: Record<string, string>; deadline: number }

export interface FakeTritonGrpc {
  /** http://127.0.0.1:PORT, as the backend's url. */
  url: string;
  calls: FakeTritonGrpcCall[];
  ready: boolean;
  queueFull: boolean;
  /** While set, infer calls are held (not answered) until release(). */
  hold: boolean;
  /** How many held calls were cancelled by their client. */
  cancelled: number;
  /** Resolves once `n` calls have been held in all (the count is never reset). */
  held(n: number): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

const metadata = {
  name: 'linear', versions: ['1'], platform: 'onnxruntime_onnx',
  inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '4'] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: ['-1', '2'] }],
};

/** startFakeTritonGrpc listens on 127.0.0.1, a free port. */
export async function startFakeTritonGrpc(): Promise<FakeTritonGrpc> {
  const waiting: Array<() => void> = [];
  const heldWaiters: Array<{ n: number; resolve: () => void }> = [];
  let holding = 0;
  const fake: FakeTritonGrpc = {
    url: '', calls: [], ready: true, queueFull: false, hold: false, cancelled: 0,
    held: (n) => new Promise((resolve) => { if (holding >= n) resolve(); else heldWaiters.push({ n, resolve }); }),
    release: () => { fake.hold = false; for (const w of waiting.splice(0)) w(); },
    close: () => new Promise((resolve) => { server.forceShutdown(); resolve(); }),
  };
  const unknown = (name: string, version: string): { code: number; details: string } =>
    ({ code: status.INVALID_ARGUMENT, details: `Request for unknown model: '${name}' version ${version || '-1'} is not found` });
  const known = (name: string, version: string): boolean => name === 'linear' && (version === '' || version === '1');
  const server = new Server();
  server.addService(inferenceDefinition as never, {
    ServerLive: (_c: unknown, cb: sendUnaryData<unknown>) => cb(null, { live: true }),
    ServerReady: (_c: unknown, cb: sendUnaryData<unknown>) => cb(null, { ready: fake.ready }),
    ServerMetadata: (_c: unknown, cb: sendUnaryData<unknown>) => cb(null, { name: 'triton', version: '2.50.0', extensions: ['model_configuration'] }),
    ModelReady: (c: ServerUnaryCall<any, unknown>, cb: sendUnaryData<unknown>) => {
      if (!known(c.request.name, c.request.version)) return cb(unknown(c.request.name, c.request.version));
      cb(null, { ready: fake.ready });
    },
    ModelMetadata: (c: ServerUnaryCall<any, unknown>, cb: sendUnaryData<unknown>) => {
      if (!known(c.request.name, c.request.version)) return cb(unknown(c.request.name, c.request.version));
      cb(null, metadata);
    },
    ModelConfig: (c: ServerUnaryCall<any, unknown>, cb: sendUnaryData<unknown>) => {
      if (!known(c.request.name, c.request.version)) return cb(unknown(c.request.name, c.request.version));
      cb(null, { config: { name: 'linear', platform: 'onnxruntime_onnx', backend: 'onnxruntime', max_batch_size: 8 } });
    },
    ModelInfer: (c: ServerUnaryCall<any, unknown>, cb: sendUnaryData<unknown>) => {
      const md: Record<string, string> = {};
      for (const [k, v] of Object.entries((c.metadata as Metadata).getMap())) md[k] = String(v);
      const deadline = c.getDeadline();
      fake.calls.push({ request: c.request, metadata: md, deadline: deadline instanceof Date ? deadline.getTime() : deadline });
      const answer = (): void => {
        if (fake.queueFull) return cb({ code: status.UNAVAILABLE, details: 'Exceeds maximum queue size' });
        try {
          cb(null, infer(c.request));
        } catch (err) {
          cb({ code: status.INVALID_ARGUMENT, details: (err as Error).message });
        }
      };
      if (!fake.hold) return answer();
      holding++;
      for (const w of heldWaiters.filter((x) => holding >= x.n)) { heldWaiters.splice(heldWaiters.indexOf(w), 1); w.resolve(); }
      c.on('cancelled', () => { fake.cancelled++; });
      waiting.push(answer);
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  fake.url = `http://127.0.0.1:${port}`;
  return fake;
}

// infer runs linear on x as Triton would check it: the model known, one FP32 input of [n, 4] with n ≤ 8.
function infer(req: Record<string, any>): unknown {
  if (!(req.model_name === 'linear' && (req.model_version === '' || req.model_version === '1'))) {
    throw new Error(`Request for unknown model: '${req.model_name}' version ${req.model_version || '-1'} is not found`);
  }
  const x = req.inputs?.[0];
  if (req.inputs?.length !== 1 || x.name !== 'x') throw new Error("expected 1 inputs but got 0 inputs for model 'linear'");
  if (x.datatype !== 'FP32') throw new Error(`inference input 'x' data-type is '${x.datatype}', but model 'linear' expects 'FP32'`);
  const shape = (x.shape as string[]).map(Number);
  if (shape.length !== 2 || shape[1] !== 4 || shape[0]! > 8) throw new Error(`unexpected shape for input 'x' for model 'linear'. Expected [-1,4], got [${shape}]`);
  const raw = req.raw_input_contents as Buffer[];
  let values: number[];
  if (raw.length > 0) {
    const b = Buffer.from(raw[0]!);
    values = Array.from(new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
  } else values = x.contents.fp32_contents;
  if (values.length !== shape[0]! * 4) throw new Error(`unexpected number of elements for 'x': ${values.length}`);
  const rows = Array.from({ length: shape[0]! }, (_, i) => values.slice(i * 4, i * 4 + 4));
  const y = linearModel(rows).flat();
  return {
    model_name: 'linear', model_version: '1', id: req.id,
    outputs: [{ name: 'y', datatype: 'FP32', shape: [shape[0], 2] }],
    raw_output_contents: [Buffer.from(new Float32Array(y).buffer)],
  };
}
