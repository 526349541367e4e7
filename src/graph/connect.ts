// connect.ts (graph) — how a sequence hands one step's answer to the next: tensors by name (the
// outputs the next step's metadata names as its inputs), by the step's `map`, or a single output
// to a single input; predictions (rows) become the next step's instances, as they are or, for
// rows that are objects, with their fields renamed by the map. The client's parameters go to every step, the outputs it
// asked for to the last one only.

import { GatewayError, type ErrorCode } from '../errors.ts';
import type { InferRequest, InferResponse, Tensor } from '../tensors/tensor.ts';

/** Source is what feeds a step: the client's request (first step) or the previous step's answer. */
export interface Source {
  /** Names it in errors: "the request", `step "a"`. */
  what: string;
  inputs?: Tensor[] | undefined;
  rows?: unknown[] | undefined;
  /** The code of a failure to wire it: the client's (bad_request) for the request, the gateway's after a step. */
  code: ErrorCode;
}

/** Target is the step being fed. */
export interface Target {
  graph: string;
  model: string;
  map?: Record<string, string> | undefined;
  /** The step model's input names (its metadata); read only when tensors are wired by name. */
  inputNames(): Promise<string[]>;
}

/** sourceOfAnswer is a step's answer as the next step's source. */
export function sourceOfAnswer(step: string, res: InferResponse): Source {
  return { what: `step "${step}"`, inputs: res.outputs, rows: res.predictions, code: 'internal' };
}

/**
 * connect makes the request for `to` from `from`, on the client's `base` request (id, parameters;
 * `last`: its requested outputs too).
 */
export async function connect(from: Source, to: Target, base: InferRequest, last: boolean): Promise<InferRequest> {
  const out: InferRequest = {
    ...(base.id === undefined ? {} : { id: base.id }),
    ...(base.parameters === undefined ? {} : { parameters: base.parameters }),
    ...(last && base.outputs !== undefined ? { outputs: base.outputs } : {}),
  };
  const fail = (message: string): GatewayError => new GatewayError(from.code, `graph "${to.graph}": ${message}`);
  if (from.inputs !== undefined) {
    out.inputs = to.map !== undefined ? mapTensors(from.inputs, to, from, fail) : byName(from.inputs, await to.inputNames(), to, from, fail);
    return out;
  }
  if (from.rows !== undefined) {
    out.instances = to.map === undefined ? from.rows : mapRows(from.rows, to.map, to, from, fail);
    return out;
  }
  throw fail(`${from.what} answered neither outputs nor predictions, so step "${to.model}" has nothing to take`);
}

type Fail = (message: string) => GatewayError;

const bare = (t: Tensor, name: string): Tensor => ({ name, datatype: t.datatype, shape: t.shape, data: t.data });
const quoted = (names: readonly string[]): string => (names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', '));

function mapTensors(tensors: Tensor[], to: Target, from: Source, fail: Fail): Tensor[] {
  return Object.entries(to.map!).map(([input, output]) => {
    const t = tensors.find((x) => x.name === output);
    if (t === undefined) {
      throw fail(`step "${to.model}" maps its input "${input}" from "${output}", which ${from.what} did not give; it gave ${quoted(tensors.map((x) => x.name))}`);
    }
    return bare(t, input);
  });
}

function byName(tensors: Tensor[], inputs: string[], to: Target, from: Source, fail: Fail): Tensor[] {
  // A model that reports no inputs (an http backend without metadata) takes what there is.
  if (inputs.length === 0) return tensors.map((t) => bare(t, t.name));
  const found = inputs.map((name) => tensors.find((t) => t.name === name));
  if (found.every((t) => t !== undefined)) return found.map((t) => bare(t!, t!.name));
  if (tensors.length === 1 && inputs.length === 1) return [bare(tensors[0]!, inputs[0]!)];
  throw fail(`step "${to.model}" takes inputs ${quoted(inputs)} and ${from.what} gave ${quoted(tensors.map((t) => t.name))}: ` +
    `no name matches every input; give step "${to.model}" a map (input: output)`);
}

function mapRows(rows: unknown[], map: Record<string, string>, to: Target, from: Source, fail: Fail): unknown[] {
  return rows.map((row, i) => {
    // A row that is not an object is one input's value (a list of numbers): it has no fields to rename.
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return row;
    const fields: Record<string, unknown> = {};
    for (const [input, output] of Object.entries(map)) {
      if (!Object.hasOwn(row, output)) {
        throw fail(`step "${to.model}" maps its input "${input}" from "${output}", but row ${i} of ${from.what} has no field "${output}"; it has ${quoted(Object.keys(row))}`);
      }
      fields[input] = (row as Record<string, unknown>)[output];
    }
    return fields;
  });
}
