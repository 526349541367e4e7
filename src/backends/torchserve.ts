// torchserve.ts — TorchServe's inference API: POST /predictions/{m}[/{v}] with the rows as
// JSON, GET /ping for health. TorchServe reports no tensor metadata, so tensor requests are
// answered with the configured output specs. One prediction per instance is required.
// https://github.com/pytorch/serve/blob/master/docs/inference_api.md

import { rowsToTensors, tensorsToInstances } from '../codecs/instances.ts';
import { parseJson, stringifyJson } from '../codecs/json.ts';
import { clip, GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse, ModelMetadata, TensorSpec } from '../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health, ModelEndpoint } from '../types.ts';
import { torchserveSchema, type TorchserveConfig } from './torchserve.schema.ts';
import { ServerLink, statusError } from './shared/link.ts';
import { applyOverride } from './shared/metadata.ts';
import { ProcessSupervisor } from './shared/spawn.ts';


/** torchserve is the registry entry of the TorchServe backend. */
export const torchserve: BackendFactory<TorchserveConfig> = {
  type: 'torchserve',
  schema: torchserveSchema,
  create(name, config, deps): Backend {
    const link = new ServerLink(name, config, deps.log);
    const where = `backend "${name}"`;
    const ping = (signal?: AbortSignal): Promise<Health> =>
      link.probe('/ping', (a) => a.status === 200 ? undefined : `/ping answered ${a.status} ${clip(a.body.toString('utf8'))}`, signal);
    const supervisor = config.spawn === undefined ? undefined : new ProcessSupervisor(name, config.spawn, ping, deps.log);
    const health = (signal?: AbortSignal): Promise<Health> => supervisor?.health(signal) ?? ping(signal);

    return {
      name, type: 'torchserve',
      start: async () => { await supervisor?.start(); },
      model(model, version): ModelEndpoint {
        const path = `/predictions/${encodeURIComponent(model)}${version === undefined ? '' : `/${encodeURIComponent(version)}`}`;
        const metadata: ModelMetadata = applyOverride({
          name: model, platform: 'pytorch_torchserve', inputs: [], outputs: [],
          ...(version === undefined ? {} : { versions: [version] }),
        }, config.metadata?.[model]);
        return {
          metadata: async () => metadata,
          health,
          async infer(req: InferRequest, ctx: CallContext): Promise<InferResponse> {
            const instances = req.instances ?? (req.inputs === undefined ? undefined : tensorsToInstances(req.inputs));
            if (instances === undefined) throw new GatewayError('bad_request', 'the request carries neither instances nor inputs');
            const body = stringifyJson(config.body === 'list' ? instances : { instances });
            const answer = await link.send({ method: 'POST', path, body, ctx, headers: { 'content-type': 'application/json' } });
            if (answer.status !== 200) throw statusError(answer, where);
            const predictions = readPredictions(answer.body, where, instances.length);
            const res: InferResponse = { modelName: model, ...(version === undefined ? {} : { modelVersion: version }) };
            if (req.id !== undefined) res.id = req.id;
            if (req.instances !== undefined) res.predictions = predictions;
            else res.outputs = predictionsToTensors(predictions, metadata.outputs, where, name);
            return res;
          },
        };
      },
      health,
      endpoints: () => link.endpoints(),
      changed: async () => (await supervisor?.changed()) === true,
      close: async () => { await supervisor?.stop(); },
    };
  },
};

// readPredictions accepts the handler's list, or {"predictions": [...]} as KServe-style handlers write it.
function readPredictions(body: Buffer, where: string, rows: number): unknown[] {
  let doc: unknown;
  try {
    doc = parseJson(body, { what: `${where} answer`, maxDepth: 256 });
  } catch (err) {
    throw new GatewayError('backend_bad_reply', (err as Error).message, { cause: err });
  }
  const predictions = Array.isArray(doc) ? doc : (doc as { predictions?: unknown } | null)?.predictions;
  if (!Array.isArray(predictions)) {
    throw new GatewayError('backend_bad_reply', `${where} answered neither a JSON list nor {"predictions": [...]}; the handler must return one prediction per instance`);
  }
  if (predictions.length !== rows) {
    throw new GatewayError('backend_bad_reply', `${where} answered ${predictions.length} predictions for ${rows} instances`);
  }
  return predictions;
}

function predictionsToTensors(predictions: unknown[], specs: TensorSpec[], where: string, name: string) {
  if (specs.length === 0) {
    throw new GatewayError('bad_request', `${where} reports no tensor metadata; set metadata.<model>.outputs of backend "${name}" to answer tensor requests`);
  }
  try {
    return rowsToTensors(predictions, specs, `${where} answer`);
  } catch (err) {
    if (err instanceof GatewayError && err.code !== 'backend_bad_reply') throw new GatewayError('backend_bad_reply', err.message, { cause: err });
    throw err;
  }
}
