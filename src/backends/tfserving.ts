// tfserving.ts — TensorFlow Serving's REST API: :predict in row format when rows came and in
// columnar format when tensors came, readiness from the model status (AVAILABLE), the signature
// from /metadata, and its {"error": ...} bodies passed on.
// https://github.com/tensorflow/serving/blob/master/tensorflow_serving/g3doc/api_rest.md

import {
  decodePredictResponse, decodeSignature, decodeStatus, encodePredictRequest, parseTfJson, stringifyTfJson,
} from '../codecs/tfserving.ts';
import { GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse, ModelMetadata } from '../tensors/tensor.ts';
import type { Backend, BackendFactory, CallContext, Health, ModelEndpoint } from '../types.ts';
import { tfservingSchema, type TfservingConfig } from './tfserving.schema.ts';
import { ServerLink, statusError } from './shared/link.ts';
import { MetadataCache, ModelTable } from './shared/metadata.ts';
import { ProcessSupervisor } from './shared/spawn.ts';


/** tfserving is the registry entry of the TF Serving backend. */
export const tfserving: BackendFactory<TfservingConfig> = {
  type: 'tfserving',
  schema: tfservingSchema,
  create(name, config, deps): Backend {
    const link = new ServerLink(name, config, deps.log);
    const where = `backend "${name}"`;
    const table = new ModelTable(name, deps.log);
    // TF Serving has no server health route: any HTTP answer below 500 to a model status
    // request means the server is up.
    const serverHealth = async (signal?: AbortSignal): Promise<Health> => {
      const model = table.firstModel() ?? 'default';
      return link.probe(`/v1/models/${encodeURIComponent(model)}`, (a) => a.status < 500 ? undefined : `model status answered ${a.status}`, signal);
    };
    const supervisor = config.spawn === undefined ? undefined : new ProcessSupervisor(name, config.spawn, serverHealth, deps.log);
    const health = (signal?: AbortSignal): Promise<Health> => supervisor?.health(signal) ?? serverHealth(signal);

    return {
      name, type: 'tfserving',
      async start() {
        await supervisor?.start();
        table.start();
      },
      model: (model, version) => table.endpoint(model, version, () => {
        // A numeric version is a version; anything else is a version label (api_rest.md).
        const base = `/v1/models/${encodeURIComponent(model)}${version === undefined ? ''
          : /^\d+$/.test(version) ? `/versions/${version}` : `/labels/${encodeURIComponent(version)}`}`;
        const signature = config.signatureName ?? 'serving_default';
        const cache = new MetadataCache(async (signal): Promise<ModelMetadata> => {
          const answer = await link.send({ method: 'GET', path: `${base}/metadata`, signal });
          if (answer.status !== 200) throw statusError(answer, `${where} metadata (GET ${base}/metadata)`);
          return decodeSignature(parseTfJson(answer.body, `${where} metadata`), model, signature, where);
        }, config.metadata?.[model]);
        return { cache, endpoint: modelEndpoint(link, base, where, cache, config.signatureName, health) };
      }),
      forget: (model, version) => table.forget(model, version),
      health,
      refresh: () => table.refresh(),
      endpoints: () => link.endpoints(),
      changed: async () => (await supervisor?.changed()) === true,
      close: async () => { await supervisor?.stop(); },
    };
  },
};

function modelEndpoint(link: ServerLink, base: string, where: string, cache: MetadataCache, signatureName: string | undefined,
  serverHealth: (signal?: AbortSignal) => Promise<Health>): ModelEndpoint {
  return {
    metadata: (signal) => cache.get(signal),
    async health(signal) {
      try {
        const answer = await link.send({ method: 'GET', path: base, ...(signal === undefined ? {} : { signal }) });
        if (answer.status !== 200) return { ready: false, reason: statusError(answer, `${where} (GET ${base})`).message };
        const status = decodeStatus(parseTfJson(answer.body, `${where} model status`), where);
        if (!status.ready) return status;
        await cache.get(signal);
        return { ready: true };
      } catch (err) {
        const server = await serverHealth(signal);
        return server.ready ? { ready: false, reason: cache.failure ?? `${where}: ${(err as Error).message}` } : server;
      }
    },
    async infer(req: InferRequest, ctx: CallContext): Promise<InferResponse> {
      const rows = req.instances;
      if (rows === undefined && req.inputs === undefined) throw new GatewayError('bad_request', 'the request carries neither instances nor inputs');
      // Columnar answers are typed by the signature, so it must be known before the call.
      const outputs = rows === undefined ? (await cache.get(ctx.signal)).outputs : undefined;
      const body = stringifyTfJson(encodePredictRequest(rows === undefined ? { inputs: req.inputs! } : { instances: rows }, signatureName));
      const answer = await link.send({
        method: 'POST', path: `${base}:predict`, body, ctx, headers: { 'content-type': 'application/json' },
      });
      if (answer.status !== 200) throw statusError(answer, where);
      let doc: unknown;
      try {
        doc = parseTfJson(answer.body, `${where} answer`);
      } catch (err) {
        throw new GatewayError('backend_bad_reply', (err as Error).message, { cause: err });
      }
      const decoded = decodePredictResponse(doc, where, rows === undefined ? { outputs: outputs! } : { rows: rows.length });
      const res: InferResponse = { ...decoded };
      if (req.id !== undefined) res.id = req.id;
      const known = cache.known;
      if (known !== undefined) res.modelName = known.name;
      return res;
    },
  };
}
