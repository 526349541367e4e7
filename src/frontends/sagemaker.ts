// sagemaker.ts — the SageMaker BYOC hosting contract: GET /ping (200, empty body, when ready)
// and POST /invocations. JSON bodies carry rows ({"instances"}) or v2 tensors; text/csv carries
// rows of numbers and JSON Lines one instance per line. The answer's type follows Accept (JSON,
// CSV or JSON Lines for rows; 406 when it allows none). Binary tensors use
// Triton-on-SageMaker framing (the JSON header size in the content type: SageMaker passes no
// custom headers). X-Amzn-SageMaker-Target-Model picks the model; one not served is a 404
// naming those that are, never the default model. With multiModel, the multi-model endpoint
// API (sagemaker-mme.ts) loads and unloads models at run time.
// https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-inference-code.html

import { formatCsv, parseCsv } from '../codecs/csv.ts';
import { size } from '../config/units.ts';
import type { FrontendDeps, FrontendFactory, HttpReply, HttpRequest, ModelHandle } from '../types.ts';
import { sagemakerSchema, type SagemakerConfig } from './sagemaker.schema.ts';
import type { InferRequest } from '../tensors/tensor.ts';
import { GatewayError } from '../errors.ts';
import { answerReply, checkResponseSize, predictionsOf, predictReply, type ReplyLimit } from './answer.ts';
import { header, mediaTypeOf, readPredictBody, sizedContentType, type PredictBody } from './body.ts';
import { callModel, lookupModel } from './model-call.ts';
import { readinessReply } from './readiness.ts';
import { executionParametersRoute, severalJsonLines, type BatchTransformConfig } from './sagemaker-batch.ts';
import { multiModelRoutes, notLoaded } from './sagemaker-mme.ts';
import { chooseAnswerType, formatJsonLines, jsonLinesTypes, parseJsonLines, rowAnswerTypes } from './sagemaker-content.ts';


/** sagemakerBinary is Triton-on-SageMaker framing: application/vnd.sagemaker-triton.binary+json;json-header-size=N. */
const sagemakerBinary = sizedContentType('application/vnd.sagemaker-triton.binary+json');

/** sagemaker is the registry entry of the SageMaker BYOC frontend. */
export const sagemaker: FrontendFactory<SagemakerConfig> = {
  type: 'sagemaker',
  schema: sagemakerSchema,
  routes(config, deps) {
    const limit: ReplyLimit = { frontend: 'sagemaker', maxResponseBytes: config.maxResponseBytes };
    const invoke = async (req: HttpRequest, handle: ModelHandle): Promise<HttpReply> => {
      forwardCustomAttributes(req);
      const { body, lines } = await readInvocation(req, handle, config.batchTransform);
      // Decided before the model runs: an answer the client cannot take is not computed.
      // Records read one per line answer one line each unless Accept asks otherwise.
      const rows = body.request.inputs === undefined;
      const type = chooseAnswerType(header(req, 'accept'), !rows ? tensorAnswerTypes : lines ? linesFirst : rowAnswerTypes);
      const { response, headers } = await callModel(req, handle, body.request, limit);
      // The model server's own custom attributes go back to the caller, as SageMaker returns them.
      const attributes = response.headers?.[customAttributes];
      if (attributes !== undefined) headers[customAttributes] = attributes;
      if (response.answer !== undefined) return answerReply(response.answer, limit, headers);
      if (rows && type !== 'application/json') {
        const predictions = predictionsOf(handle.transform === undefined ? body.request : {}, response);
        const text = type === 'text/csv' ? formatCsv(predictions) : formatJsonLines(predictions);
        checkResponseSize(Buffer.byteLength(text), limit);
        return { status: 200, headers: { ...headers, 'content-type': type }, body: text };
      }
      return predictReply(body, response, handle, limit, headers);
    };
    return [
      ...(config.multiModel ? multiModelRoutes(deps, config.pageSize, invoke) : []),
      // SageMaker wants an empty body; 503 (not ready) keeps the JSON error shape.
      { method: 'GET', path: '/ping', frontend: 'sagemaker', handle: async () => readinessReply(deps) },
      executionParametersRoute(config.batchTransform),
      {
        method: 'POST',
        path: '/invocations',
        frontend: 'sagemaker',
        async handle(req: HttpRequest) {
          const target = targetModel(req, deps);
          if (target !== undefined) return invoke(req, target);
          if (config.model === undefined) {
            throw new GatewayError('bad_request', 'this multi-model endpoint has no default model: name one in X-Amzn-SageMaker-Target-Model');
          }
          return invoke(req, lookupModel(deps, config.model));
        },
      },
    ];
  },
};

// targetModel reads X-Amzn-SageMaker-Target-Model (multi-model endpoints name an artifact such as
// "iris.tar.gz", perhaps under a relative path): the model of that name, or of the artifact's
// name without .tar.gz; one not served is 404 naming the loaded models, never the default model
// (a client would believe model X answered when model Y did).
function targetModel(req: HttpRequest, deps: FrontendDeps): ModelHandle | undefined {
  const v = header(req, 'x-amzn-sagemaker-target-model');
  if (v === undefined) return undefined;
  const artifact = v.slice(v.lastIndexOf('/') + 1);
  for (const name of new Set([v, artifact, artifact.replace(/\.tar\.gz$/, '')])) {
    const handle = deps.models(name);
    if (handle !== undefined) return handle;
  }
  throw notLoaded(v, deps);
}

// What rows read from a JSON body of several lines can be sent as: JSON Lines first.
const linesFirst = ['application/jsonlines', 'application/json', 'text/csv'] as const;

// What a v2 tensor answer can be sent as: JSON, or binary in either framing.
const tensorAnswerTypes = ['application/json', sagemakerBinary.mediaType, 'application/octet-stream'] as const;

// readInvocation reads the body: text/csv and JSON Lines rows here, the rest as every predict
// route does. For a model whose transform reads any body, rows that do not parse go to it as bytes.
// A JSON body that is records one per line (batch transform, MULTI_RECORD) is read as JSON Lines.
async function readInvocation(req: HttpRequest, handle: ModelHandle, batch: BatchTransformConfig): Promise<{ body: PredictBody; lines: boolean }> {
  let media = mediaTypeOf(req.headers['content-type']);
  let lines = false;
  if (media !== 'text/csv' && !jsonLinesTypes.has(media)) {
    try {
      return { body: await readPredictBody(req, { rows: true, tensors: true, binaryType: sagemakerBinary, alsoAccepted: ['text/csv', 'application/jsonlines'] }, handle), lines };
    } catch (err) {
      if (!(err instanceof GatewayError && err.code === 'invalid_json' && media === 'application/json' && severalJsonLines(batch, await req.body()))) throw err;
      media = 'application/jsonlines';
      lines = true;
    }
  }
  return { body: await readRecords(req, handle, media), lines };
}

// readRecords reads a CSV or JSON Lines body as rows, one per line.
async function readRecords(req: HttpRequest, handle: ModelHandle, media: string): Promise<PredictBody> {
  const raw = await req.body();
  const payload = { contentType: media, body: raw };
  let request: InferRequest;
  try {
    request = { instances: media === 'text/csv' ? parseCsv(raw) : parseJsonLines(raw, req.maxJsonDepth) };
  } catch (err) {
    if (handle.takesPayload !== true) throw err;
    return { request: { payload }, framing: 'header' };
  }
  if (handle.transform !== undefined || handle.takesPayload === true) request.payload = payload;
  return { request, framing: 'header' };
}

// forwardCustomAttributes passes X-Amzn-SageMaker-Custom-Attributes on to the backend, as
// SageMaker passes it to the container: opaque, at most 1024 visible ASCII characters.
function forwardCustomAttributes(req: HttpRequest): void {
  const value = header(req, customAttributes);
  if (value === undefined) return;
  if (value.length > 1024 || !/^[\x20-\x7e]*$/.test(value)) {
    throw new GatewayError('bad_request', `${customAttributes} must be at most 1024 visible ASCII characters`);
  }
  req.call.forward[customAttributes] = value;
}

const customAttributes = 'x-amzn-sagemaker-custom-attributes';
