// fake-torchserve.ts (test support) — a stand-in for TorchServe's inference API, which cannot run
// on these machines, written from its document
// (https://github.com/pytorch/serve/blob/master/docs/inference_api.md): GET /ping answers
// {"status": "Healthy"}, POST /predictions/{model}[/{version}] runs the model's handler on the
// JSON body, and errors are TorchServe's {"code", "type", "message"} bodies (404
// ModelNotFoundException, 503 ServiceUnavailableException when no worker is free). The handler
// here reads {"instances": [...]} or a bare list and returns one prediction per row of the
// linear model (y = x·W + b, as fake-triton.ts).

import type { ServerResponse } from 'node:http';
import { startRecordingServer, type RecordedCall } from './fake-server.ts';
import { linearModel } from './fake-triton.ts';

/** FakeTorchServe is a running fake server with knobs for its failure modes. */
export interface FakeTorchServe {
  url: string;
  calls: RecordedCall[];
  healthy: boolean;
  /** The handler drops the last prediction (a handler bug the gateway must catch). */
  dropOne: boolean;
  /** Answer every prediction with 503: no worker free. */
  busy: boolean;
  close(): Promise<void>;
}

/** startFakeTorchServe listens on 127.0.0.1 port 0. */
export async function startFakeTorchServe(): Promise<FakeTorchServe> {
  const fake: FakeTorchServe = {
    url: '', calls: [], healthy: true, dropOne: false, busy: false,
    close: () => server.close(),
  };
  const server = await startRecordingServer(fake.calls, (req, res, body) => {
    if (req.url === '/ping') {
      return reply(res, fake.healthy ? 200 : 500, { status: fake.healthy ? 'Healthy' : 'Unhealthy' });
    }
    const m = /^\/predictions\/([^/]+)(?:\/([^/]+))?$/.exec(req.url!);
    if (m === null || req.method !== 'POST') return reply(res, 404, { code: 404, type: 'ResourceNotFoundException', message: 'Requested resource is not found, please refer to API document.' });
    const [, model, version] = m;
    if (model !== 'linear' || (version !== undefined && version !== '1.0')) {
      return reply(res, 404, { code: 404, type: 'ModelNotFoundException', message: `Model not found: ${model}${version === undefined ? '' : ` version ${version}`}` });
    }
    if (fake.busy) {
      return reply(res, 503, { code: 503, type: 'ServiceUnavailableException', message: `Model "${model}" has no worker to serve inference request. Please use scale workers API to add workers.` });
    }
    try {
      const doc = JSON.parse(body.toString('utf8')) as unknown;
      const rows = Array.isArray(doc) ? doc : (doc as { instances?: unknown }).instances;
      if (!Array.isArray(rows) || !rows.every((r) => Array.isArray(r) && r.length === 4)) throw new Error('expected rows of 4 numbers');
      const predictions = linearModel(rows as number[][]);
      if (fake.dropOne) predictions.pop();
      reply(res, 200, predictions);
    } catch (err) {
      // A handler exception: TorchServe answers 503 InternalServerException "Prediction failed".
      reply(res, 503, { code: 503, type: 'InternalServerException', message: `Prediction failed: ${(err as Error).message}` });
    }
  });
  fake.url = server.url;
  return fake;
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
