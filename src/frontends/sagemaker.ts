// sagemaker.ts — the SageMaker BYOC hosting contract: GET /ping (200, empty body, when ready)
// and POST /invocations. JSON bodies carry rows ({"instances"}) or v2 tensors; text/csv carries
// rows of numbers and is answered in CSV when the client accepts text/csv. Binary tensors use
// Triton-on-SageMaker framing (the JSON header size in the content type: SageMaker passes no
// custom headers). https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html

import { z } from 'zod';
import { stringifyJson } from '../codecs/json.ts';
import { size } from '../config/units.ts';
import { GatewayError } from '../errors.ts';
import type { FrontendDeps, FrontendFactory, HttpReply, HttpRequest } from '../types.ts';
import {
  callModel, checkResponseSize, header, lookupModel, mediaTypeOf, predictionsOf, predictReply, readinessReply,
  readPredictBody, type ContentTypeFraming, type PredictBody, type ReplyLimit,
} from './predict-route.ts';

const sagemakerSchema = z.strictObject({
  model: z.string().describe('Gateway model that answers /invocations.'),
  maxResponseBytes: size.prefault('6mb').describe('Largest answer; a larger one is refused with 413 response_too_large, never cut (SageMaker real-time allows 6 MB).'),
}).describe('SageMaker BYOC: GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT (8080).');

type SagemakerConfig = z.infer<typeof sagemakerSchema>;

const binaryType = 'application/vnd.sagemaker-triton.binary+json';

/** sagemakerBinary is Triton-on-SageMaker framing: application/vnd.sagemaker-triton.binary+json;json-header-size=N. */
const sagemakerBinary: ContentTypeFraming = {
  mediaType: binaryType,
  headerLength(ct) {
    const m = /;\s*json-header-size\s*=\s*(\d{1,15})\s*(?:;|$)/i.exec(ct);
    return m === null ? undefined : Number(m[1]);
  },
  contentType: (n) => `${binaryType};json-header-size=${n}`,
};

/** sagemaker is the registry entry of the SageMaker BYOC frontend. */
export const sagemaker: FrontendFactory<SagemakerConfig> = {
  type: 'sagemaker',
  schema: sagemakerSchema,
  routes(config, deps) {
    const limit: ReplyLimit = { frontend: 'sagemaker', maxResponseBytes: config.maxResponseBytes };
    return [
      // SageMaker wants an empty body; 503 (not ready) keeps the JSON error shape.
      { method: 'GET', path: '/ping', frontend: 'sagemaker', handle: async () => readinessReply(deps) },
      {
        method: 'POST',
        path: '/invocations',
        frontend: 'sagemaker',
        async handle(req: HttpRequest) {
          const handle = lookupModel(deps, targetModel(req, deps) ?? config.model);
          if (mediaTypeOf(req.headers['content-type']) === 'text/csv') {
            const request = { instances: parseCsv(await req.body()) };
            const { response, headers } = await callModel(req, handle, request);
            const predictions = predictionsOf(request, response);
            return wantsCsv(req) ? csvReply(predictions, limit, headers) : predictReply({ request, framing: 'header' }, response, handle, limit, headers);
          }
          const body: PredictBody = await readPredictBody(req, { rows: true, tensors: true, binaryType: sagemakerBinary, alsoAccepted: ['text/csv'] });
          const { response, headers } = await callModel(req, handle, body.request);
          if (body.request.instances !== undefined && wantsCsv(req)) return csvReply(predictionsOf(body.request, response), limit, headers);
          return predictReply(body, response, handle, limit, headers);
        },
      },
    ];
  },
};

// targetModel reads X-Amzn-SageMaker-Target-Model (multi-model endpoints name an artifact such as
// "iris.tar.gz"): it picks a model only when it names one this gateway serves, else it is ignored.
function targetModel(req: HttpRequest, deps: FrontendDeps): string | undefined {
  const v = header(req, 'x-amzn-sagemaker-target-model');
  if (v === undefined) return undefined;
  for (const name of [v, v.replace(/\.tar\.gz$/, '')]) {
    if (deps.models(name) !== undefined) return name;
  }
  return undefined;
}

/** parseCsv reads text/csv rows of numbers into instances; a bad cell is a 400 naming its line and column. */
export function parseCsv(body: Buffer): number[][] {
  const rows: number[][] = [];
  const lines = body.toString('utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    rows.push(line.split(',').map((cell, j) => {
      const s = cell.trim();
      const n = s === '' ? NaN : Number(s);
      if (!Number.isFinite(n)) {
        throw new GatewayError('bad_request',
          `text/csv line ${i + 1}, column ${j + 1}: ${JSON.stringify(s.length > 30 ? `${s.slice(0, 30)}…` : s)} is not a number; rows must be comma-separated numbers`);
      }
      return n;
    }));
  });
  if (rows.length === 0) throw new GatewayError('bad_request', 'the text/csv body has no rows; send one line of comma-separated numbers per instance');
  return rows;
}

// wantsCsv: the first of text/csv and application/json (or */*) named in Accept wins; JSON otherwise.
function wantsCsv(req: HttpRequest): boolean {
  const accept = header(req, 'accept');
  if (accept === undefined) return false;
  for (const part of accept.split(',')) {
    const type = mediaTypeOf(part);
    if (type === 'text/csv') return true;
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return false;
  }
  return false;
}

/** csvReply writes one line per prediction: a row's values comma-separated, anything nested as a quoted JSON cell. */
function csvReply(predictions: unknown[], limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  const lines = predictions.map((p) => (Array.isArray(p) ? p.map(csvCell).join(',') : csvCell(p)));
  const text = `${lines.join('\n')}\n`;
  checkResponseSize(Buffer.byteLength(text), limit);
  return { status: 200, headers: { ...headers, 'content-type': 'text/csv' }, body: text };
}

function csvCell(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  const s = typeof v === 'string' ? v : stringifyJson(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
