// classification.ts — Triton's classification extension, answered by the gateway for every
// backend: a v2 client asking `"outputs": [{"name": "probs", "parameters": {"classification": 3}}]`
// gets that output as a BYTES tensor of the 3 best "score:index[:label]" strings per batch row
// (triton-classes.ts has the exact form). The labels are the model's `labels` transform step's.
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_classification.md
//
// The parameter goes no further than this stage: the request sent down asks for the plain
// output (and has no `raw` body, which a Triton backend would otherwise forward as the client
// wrote it), so the backend's answer is raw scores whatever the backend is. Rows requests
// (`instances`) name no outputs and pass through untouched.

import { describeValue, GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse, RequestedOutput } from '../tensors/tensor.ts';
import { fetchArtifact } from '../storage/store.ts';
import { isRemote } from '../storage/uri.ts';
import type { ModelStageDeps, StagePlugin } from '../types.ts';
import { readLabels } from './builtins/label-file.ts';
import { isNumericType } from './builtins/scores.ts';
import { maxTopK } from './builtins/topk.ts';
import { classificationTensor } from './builtins/triton-classes.ts';

/** ClassificationConfig is the part of a model's block the stage reads: its parsed transform steps. */
export interface ClassificationConfig {
  transform?: ReadonlyArray<{ step: string; config: unknown }>;
}

/** classification turns outputs asked with a "classification" parameter into Triton's classification strings. */
export const classification = {
  name: 'classification',
  schema: {},
  create(config, deps) {
    const labelsStep = config.transform?.find((s) => s.step === 'labels');
    const file = (labelsStep?.config as { file?: unknown } | undefined)?.file;
    const labels = typeof file === 'string' ? labelsFrom(file, deps) : async () => undefined;
    return {
      stage: (next) => (req, ctx) => {
        let asked: ReadonlyMap<string, number>;
        try {
          asked = classificationsAsked(req.outputs);
        } catch (err) {
          return Promise.reject(err);
        }
        if (asked.size === 0) return next(req, ctx);
        return next(withoutClassification(req), ctx).then(async (res) => classified(res, asked, deps.model, await labels()));
      },
    };
  },
} satisfies StagePlugin<ClassificationConfig, ModelStageDeps>;

// labelsFrom reads a local labels file now (a bad one is a config error); a remote one is the
// labels step's, which fetches it before the model is ready: read from the cache at first use.
function labelsFrom(file: string, deps: ModelStageDeps): () => Promise<string[]> {
  if (!isRemote(file)) {
    const labels = readLabels(file);
    return async () => labels;
  }
  let read: Promise<string[]> | undefined;
  return () => {
    read ??= fetchArtifact(file, `model ${deps.model} classification`, deps.log).then((f) => readLabels(f.path));
    read.catch(() => { read = undefined; });
    return read;
  };
}

const noneAsked: ReadonlyMap<string, number> = new Map();

/** classificationsAsked gives each requested output's class count, checking each: an integer 1..1000. */
export function classificationsAsked(outputs: readonly RequestedOutput[] | undefined): ReadonlyMap<string, number> {
  // Most requests name no outputs: no Map for them (the caller only reads it).
  if (outputs === undefined || outputs.length === 0) return noneAsked;
  const asked = new Map<string, number>();
  for (const o of outputs) {
    const k = o.parameters?.classification;
    if (k === undefined) continue;
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > maxTopK) {
      throw new GatewayError('bad_request', `output "${o.name}": "classification" must be an integer from 1 to ${maxTopK}, got ${describeValue(k)}`);
    }
    asked.set(o.name, k);
  }
  return asked;
}

// The request as the backend should get it: the same outputs without "classification", and no
// raw body. A new object: the client's request is the frontend's, which still answers from it.
function withoutClassification(req: InferRequest): InferRequest {
  const down: InferRequest = { ...req };
  delete down.raw;
  down.outputs = req.outputs!.map((o) => {
    if (o.parameters?.classification === undefined) return o;
    const { classification: _dropped, ...rest } = o.parameters;
    return Object.keys(rest).length === 0 ? { name: o.name } : { name: o.name, parameters: rest };
  });
  return down;
}

function classified(res: InferResponse, asked: ReadonlyMap<string, number>, model: string, labels: readonly string[] | undefined): InferResponse {
  const outputs = res.outputs ?? [];
  const replaced = outputs.map((t) => {
    const k = asked.get(t.name);
    if (k === undefined) return t;
    if (!isNumericType(t.datatype)) {
      throw new GatewayError('bad_request', `output "${t.name}" of model "${model}" is ${t.datatype}; "classification" needs a numeric output`);
    }
    return classificationTensor(t, k, labels);
  });
  for (const name of asked.keys()) {
    if (!outputs.some((t) => t.name === name)) {
      throw new GatewayError('bad_request', `output "${name}" asked with "classification" is not in the answer of model "${model}"; ` +
        (outputs.length === 0 ? 'it answered no output tensors' : `its outputs: ${outputs.map((t) => `"${t.name}"`).join(', ')}`));
    }
  }
  return { ...res, outputs: replaced };
}
