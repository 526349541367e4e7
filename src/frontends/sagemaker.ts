// sagemaker.ts — the SageMaker BYOC hosting contract: GET /ping (200, empty body, when ready)
// and POST /invocations. JSON bodies carry rows ({"instances"}) or v2 tensors; text/csv carries
// rows of numbers and is answered in CSV when the client accepts text/csv. Binary tensors use
// Triton-on-SageMaker framing (the JSON header size in the content type: SageMaker passes no
// custom headers). https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html

import { z } from 'zod';
import { formatCsv, parseCsv } from '../codecs/csv.ts';
import { size } from '../config/units.ts';
import type { FrontendDeps, FrontendFactory, HttpReply, HttpRequest } from '../types.ts';
import type { InferRequest } from '../tensors/tensor.ts';
import { answerReply, checkResponseSize, predictionsOf, predictReply, type ReplyLimit } from './answer.ts';
import { header, mediaTypeOf, readPredictBody, sizedContentType, type PredictBody } from './body.ts';
import { callModel, lookupModel } from './model-call.ts';
import { readinessReply } from './readiness.ts';

const sagemakerSchema = z.strictObject({
  model: z.string().describe('Gateway model that answers /invocations.'),
  maxResponseBytes: size.prefault('6mb').describe('Largest answer; a larger one is refused with 413 response_too_large, never cut (SageMaker real-time allows 6 MB).'),
}).describe('SageMaker BYOC: GET /ping and POST /invocations on SAGEMAKER_BIND_TO_PORT (8080).');

type SagemakerConfig = z.infer<typeof sagemakerSchema>;

/** sagemakerBinary is Triton-on-SageMaker framing: application/vnd.sagemaker-triton.binary+json;json-header-size=N. */
const sagemakerBinary = sizedContentType('application/vnd.sagemaker-triton.binary+json');

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
            const raw = await req.body();
            const request: InferRequest = { instances: parseCsv(raw) };
            if (handle.transform !== undefined) request.payload = { contentType: 'text/csv', body: raw };
            const { response, headers } = await callModel(req, handle, request, limit);
            if (response.answer !== undefined) return answerReply(response.answer, limit, headers);
            const predictions = predictionsOf(handle.transform === undefined ? request : {}, response);
            return wantsCsv(req) ? csvReply(predictions, limit, headers) : predictReply({ request, framing: 'header' }, response, handle, limit, headers);
          }
          const body: PredictBody = await readPredictBody(req, { rows: true, tensors: true, binaryType: sagemakerBinary, alsoAccepted: ['text/csv'] }, handle);
          const { response, headers } = await callModel(req, handle, body.request, limit);
          if (response.answer === undefined && body.request.instances !== undefined && wantsCsv(req)) {
            return csvReply(predictionsOf(handle.transform === undefined ? body.request : {}, response), limit, headers);
          }
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

// csvReply answers predictions in text/csv, within the response limit.
function csvReply(predictions: unknown[], limit: ReplyLimit, headers: Record<string, string>): HttpReply {
  const text = formatCsv(predictions);
  checkResponseSize(Buffer.byteLength(text), limit);
  return { status: 200, headers: { ...headers, 'content-type': 'text/csv' }, body: text };
}
