// tfserving.ts — TensorFlow Serving REST bodies ⇄ canonical requests and responses: the row
// format (`instances` → `predictions`), the columnar format (`inputs` → `outputs`),
// `signature_name`, `{"b64": ...}` binary values, model status and signature metadata.
// TF Serving writes NaN, Infinity and -Infinity as bare tokens, so its answers are read with
// parseTfJson, which only takes the slow path when the plain parse fails on one of them.
// https://github.com/tensorflow/serving/blob/master/tensorflow_serving/g3doc/api_rest.md

import { describeValue, GatewayError } from '../errors.ts';
import { toJsonValues, type Datatype } from '../tensors/datatype.ts';
import { elementCount } from '../tensors/shape.ts';
import type { InferRequest, ModelMetadata, Tensor, TensorSpec } from '../tensors/tensor.ts';
import { parseJson, stringifyJson } from './json.ts';
import { rowsToTensors } from './instances.ts';

// Sentinels for non-finite numbers on the way out: a NUL and a per-process nonce no client
// knows, so no string a client sent can pass for one. (parseTfJson uses a nonce per call.)
const marker = `\u0000tf${Math.random().toString(36).slice(2)}:`;
const markerPattern = new RegExp(`"\\\\u0000${marker.slice(1)}(NaN|Infinity|-Infinity)"`, 'g');

/**
 * parseTfJson parses JSON that may hold TF Serving's NaN / Infinity / -Infinity tokens. Normal
 * input costs one JSON.parse; only text that fails and holds such a token is rewritten.
 */
export function parseTfJson(input: Buffer | string, what = 'TF Serving answer'): unknown {
  try {
    return parseJson(input, { what, maxDepth: 256 });
  } catch (err) {
    const text = typeof input === 'string' ? input : input.toString('utf8');
    if (!(err instanceof GatewayError) || err.code !== 'invalid_json' || !/NaN|Infinity/.test(text)) throw err;
    const nonce = Math.random().toString(36).slice(2);
    const rewritten = rewriteTokens(text, `${marker}${nonce}:`);
    return restoreTokens(parseJson(rewritten, { what, maxDepth: 256 }), `${marker}${nonce}:`);
  }
}

/** stringifyTfJson writes JSON as TF Serving reads it: non-finite floats as NaN / Infinity tokens. */
export function stringifyTfJson(value: unknown): string {
  const text = stringifyJson(value);
  if (!text.includes(marker.slice(1))) return text;
  return text.replace(markerPattern, '$1');
}

/** tfDatatypes maps TF DataType names (signature metadata) to v2 datatypes. */
export const tfDatatypes: Record<string, Datatype> = {
  DT_FLOAT: 'FP32', DT_DOUBLE: 'FP64', DT_HALF: 'FP16', DT_INT8: 'INT8', DT_INT16: 'INT16',
  DT_INT32: 'INT32', DT_INT64: 'INT64', DT_UINT8: 'UINT8', DT_UINT16: 'UINT16', DT_UINT32: 'UINT32',
  DT_UINT64: 'UINT64', DT_BOOL: 'BOOL', DT_STRING: 'BYTES',
};

/**
 * encodePredictRequest writes a :predict body: row format when rows came, columnar
 * (`inputs` keyed by name, nested per shape) when tensors came.
 */
export function encodePredictRequest(req: InferRequest, signatureName?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (signatureName !== undefined) out.signature_name = signatureName;
  if (req.instances !== undefined) {
    out.instances = req.instances;
    return out;
  }
  if (req.inputs === undefined) throw new GatewayError('bad_request', 'the request carries neither instances nor inputs');
  out.inputs = Object.fromEntries(req.inputs.map((t) => [t.name, nestedValues(t)]));
  return out;
}

/**
 * decodePredictResponse reads a :predict answer. Row answers give `predictions` (one per
 * instance, checked against `rows`); columnar answers give tensors typed by the output specs
 * (a lone unnamed value belongs to the only output).
 */
export function decodePredictResponse(json: unknown, where: string, expect: { rows: number } | { outputs: TensorSpec[] }):
  { predictions: unknown[] } | { outputs: Tensor[] } {
  const bad = (message: string): GatewayError => new GatewayError('backend_bad_reply', `${where} answer: ${message}`);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad(`expected a JSON object, got ${describeValue(json)}`);
  const doc = json as Record<string, unknown>;
  if ('rows' in expect) {
    if (!Array.isArray(doc.predictions)) throw bad(`expected "predictions" as an array, got ${describeValue(doc.predictions)}`);
    if (doc.predictions.length !== expect.rows) throw bad(`${doc.predictions.length} predictions for ${expect.rows} instances`);
    return { predictions: doc.predictions };
  }
  if (doc.outputs === undefined) throw bad('expected "outputs" (columnar format)');
  const specs = expect.outputs;
  let named: Record<string, unknown>;
  const isNamedMap = typeof doc.outputs === 'object' && doc.outputs !== null && !Array.isArray(doc.outputs) &&
    !('b64' in doc.outputs) && (specs.length !== 1 || Object.hasOwn(doc.outputs, specs[0]!.name));
  if (isNamedMap) named = doc.outputs as Record<string, unknown>;
  else if (specs.length <= 1) named = { [specs[0]?.name ?? 'outputs']: doc.outputs };
  else throw bad(`"outputs" is a single value but the signature has ${specs.length} outputs`);
  return {
    outputs: Object.entries(named).map(([name, value]) => {
      const spec = specs.find((s) => s.name === name) ?? { name, datatype: guessDatatype(value), shape: [] };
      return columnToTensor(name, value, spec, where);
    }),
  };
}

/** decodeStatus reads GET /v1/models/{m}: ready when the (asked or newest) version is AVAILABLE. */
export function decodeStatus(json: unknown, where: string): { ready: boolean; reason?: string } {
  const list = (json as { model_version_status?: unknown } | null)?.model_version_status;
  if (!Array.isArray(list) || list.length === 0) return { ready: false, reason: `${where} reported no model_version_status` };
  const available = list.filter((v) => (v as { state?: unknown })?.state === 'AVAILABLE');
  if (available.length > 0) return { ready: true };
  const states = list.map((v) => {
    const s = v as { version?: unknown; state?: unknown; status?: { error_message?: unknown } };
    const msg = typeof s.status?.error_message === 'string' && s.status.error_message !== '' ? ` (${s.status.error_message})` : '';
    return `version ${String(s.version)} is ${String(s.state)}${msg}`;
  });
  return { ready: false, reason: `${where}: ${states.join('; ')}` };
}

/**
 * decodeSignature reads GET /v1/models/{m}/metadata (GetModelMetadataResponse) into model
 * metadata for one signature (default serving_default).
 */
export function decodeSignature(json: unknown, model: string, signatureName: string, where: string): ModelMetadata {
  const bad = (message: string): GatewayError => new GatewayError('backend_bad_reply', `${where} metadata: ${message}`);
  const doc = json as { model_spec?: { version?: unknown }; metadata?: { signature_def?: { signature_def?: Record<string, unknown> } } } | null;
  const sigs = doc?.metadata?.signature_def?.signature_def;
  if (typeof sigs !== 'object' || sigs === null) throw bad('no metadata.signature_def.signature_def object');
  const sig = sigs[signatureName] as { inputs?: unknown; outputs?: unknown } | undefined;
  if (sig === undefined) throw bad(`no signature "${signatureName}"; it has ${Object.keys(sigs).map((s) => `"${s}"`).join(', ')}`);
  const specs = (map: unknown, what: string): TensorSpec[] => {
    if (typeof map !== 'object' || map === null) throw bad(`signature "${signatureName}" has no ${what} map`);
    return Object.entries(map).map(([name, info]) => {
      const i = info as { dtype?: unknown; tensor_shape?: { dim?: Array<{ size?: unknown }>; unknown_rank?: unknown } };
      const datatype = tfDatatypes[String(i.dtype)];
      if (datatype === undefined) throw bad(`${what} "${name}" has dtype ${String(i.dtype)}, which has no v2 datatype`);
      const dims = i.tensor_shape?.dim ?? [];
      return { name, datatype, shape: dims.map((d) => Number(d.size ?? -1)) };
    });
  };
  const version = doc?.model_spec?.version;
  return {
    name: model, platform: 'tensorflow_savedmodel',
    ...(version === undefined || version === null ? {} : { versions: [String(version)] }),
    inputs: specs(sig.inputs, 'inputs'), outputs: specs(sig.outputs, 'outputs'),
  };
}

// nestedValues gives a tensor's values nested per its shape, non-finite floats as sentinels.
function nestedValues(t: Tensor): unknown {
  const flat = toJsonValues(t.datatype, t.data);
  if (t.datatype === 'FP32' || t.datatype === 'FP64' || t.datatype === 'FP16') {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i] as number;
      if (!Number.isFinite(v)) flat[i] = `${marker}${Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity'}`;
    }
  }
  if (t.shape.length === 0) return flat[0];
  return nest(flat, 0, t.shape, 0);
}

function nest(values: unknown[], offset: number, shape: number[], dim: number): unknown[] {
  const n = shape[dim]!;
  const out: unknown[] = new Array(n);
  if (dim === shape.length - 1) {
    for (let j = 0; j < n; j++) out[j] = values[offset + j];
    return out;
  }
  const stride = elementCount(shape.slice(dim + 1));
  for (let j = 0; j < n; j++) out[j] = nest(values, offset + j * stride, shape, dim + 1);
  return out;
}

// columnToTensor reads one columnar output value: its shape from the nesting, typed by the spec.
function columnToTensor(name: string, value: unknown, spec: TensorSpec, where: string): Tensor {
  try {
    if (!Array.isArray(value)) return rowsToTensors([value], [{ name, datatype: spec.datatype, shape: [] }], `${where} answer`)[0]!;
    // A columnar output's dim 0 is its own first dimension: read it as rows of that tensor.
    const rank = Math.max(spec.shape.length, depth(value));
    const [t] = rowsToTensors(value, [{ name, datatype: spec.datatype, shape: Array.from({ length: rank }, () => -1) }], `${where} answer`);
    return t!;
  } catch (err) {
    throw asReply(err);
  }
}

function asReply<T>(x: T): T {
  if (x instanceof GatewayError && x.code !== 'backend_bad_reply') {
    return new GatewayError('backend_bad_reply', x.message, { cause: x }) as T;
  }
  return x;
}

function depth(v: unknown): number {
  let d = 0;
  for (let cur = v; Array.isArray(cur); cur = cur[0]) d++;
  return d;
}

function guessDatatype(value: unknown): Datatype {
  let leaf = value;
  while (Array.isArray(leaf)) leaf = leaf[0];
  if (typeof leaf === 'boolean') return 'BOOL';
  if (typeof leaf === 'string' || (typeof leaf === 'object' && leaf !== null)) return 'BYTES';
  return 'FP32';
}

function rewriteTokens(text: string, prefix: string): string {
  let out = '';
  let last = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      continue;
    }
    if (c === 34) { inString = true; continue; }
    let token: string | undefined;
    if (c === 78 && text.startsWith('NaN', i)) token = 'NaN';
    else if (c === 73 && text.startsWith('Infinity', i)) token = 'Infinity';
    else if (c === 45 && text.startsWith('-Infinity', i)) token = '-Infinity';
    else if (c === 43 && text.startsWith('+Infinity', i)) token = '+Infinity';
    if (token !== undefined) {
      out += text.slice(last, i) + JSON.stringify(prefix + (token === '+Infinity' ? 'Infinity' : token));
      i += token.length - 1;
      last = i + 1;
    }
  }
  return out + text.slice(last);
}

function restoreTokens(value: unknown, prefix: string): unknown {
  if (typeof value === 'string') {
    if (!value.startsWith(prefix)) return value;
    const token = value.slice(prefix.length);
    return token === 'NaN' ? NaN : token === 'Infinity' ? Infinity : -Infinity;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreTokens(value[i], prefix);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    for (const k of Object.keys(value)) (value as Record<string, unknown>)[k] = restoreTokens((value as Record<string, unknown>)[k], prefix);
  }
  return value;
}
