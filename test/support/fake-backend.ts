// fake-backend.ts (test support) — an in-process Backend for assembly tests (pipeline, target,
// gateway build and health): each model endpoint answers with the version it was made for and
// the target that called it, records what it was asked, and its health and answers can be set.

import { GatewayError } from '../../src/errors.ts';
import type { InferRequest, InferResponse } from '../../src/tensors/tensor.ts';
import type { Backend, CallContext, Health, ModelEndpoint } from '../../src/types.ts';

export interface FakeCall { model: string; version: string | undefined; target: string | undefined; rows: number }

export interface FakeBackend extends Backend {
  calls: FakeCall[];
  made: string[];
  forgotten: string[];
  /** Health every endpoint reports (default ready). */
  health(signal?: AbortSignal): Promise<Health>;
  setHealth(h: Health | (() => Promise<Health>)): void;
  /** What infer does (default: one prediction per instance naming model@version). */
  setAnswer(answer: (req: InferRequest, ctx: CallContext, model: string, version?: string) => Promise<InferResponse>): void;
}

/** fakeBackend makes one; `name` is the backend's name in the config. */
export function fakeBackend(name = 'b'): FakeBackend {
  let health: Health | (() => Promise<Health>) = { ready: true };
  let answer = async (req: InferRequest, _ctx: CallContext, model: string, version?: string): Promise<InferResponse> =>
    ({ predictions: (req.instances ?? []).map(() => `${model}@${version ?? ''}`) });
  const backend: FakeBackend = {
    name, type: 'fake', calls: [], made: [], forgotten: [],
    start: async () => {},
    health: async () => (typeof health === 'function' ? health() : health),
    setHealth: (h) => { health = h; },
    setAnswer: (a) => { answer = a; },
    model(model, version): ModelEndpoint {
      backend.made.push(`${model}@${version ?? ''}`);
      return {
        infer: (req, ctx) => {
          backend.calls.push({ model, version, target: ctx.target, rows: req.instances?.length ?? 0 });
          return answer(req, ctx, model, version);
        },
        metadata: async () => ({ name: model, platform: 'fake', versions: version === undefined ? [] : [version], inputs: [], outputs: [] }),
        health: () => backend.health(),
      };
    },
    forget(model, version) { backend.forgotten.push(`${model}@${version ?? ''}`); },
    close: async () => {},
  };
  return backend;
}

/** never is an answer that never comes (ignores the signal, as a hung backend would). */
export const never = (): Promise<InferResponse> => new Promise(() => {});

/** failing answers with a backend fault. */
export const failing = async (): Promise<InferResponse> => { throw new GatewayError('backend_error', 'backend failed with 500'); };
