// fakes.ts (routing tests) — model configs, targets and contexts for the routing unit tests.

import type { IncomingHttpHeaders } from 'node:http';
import type { ModelConfig } from '../../src/config/schema.ts';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import type { SplitTarget } from '../../src/routing/split.ts';
import type { CallContext, Infer } from '../../src/types.ts';

/** modelConfig gives a ModelConfig with the schema's defaults and the given fields. */
export function modelConfig(fields: Partial<ModelConfig> = {}): ModelConfig {
  return { targets: [{ backend: 'b', weight: 100 }], timeoutMs: 30_000, allowOverride: [], ...fields } as ModelConfig;
}

/** FakeTarget is a SplitTarget that answers with its own name and counts its calls. */
export interface FakeTarget extends SplitTarget { calls: number; up: boolean; fail?: GatewayError }

/** fakeTarget answers {predictions: [name]} or rejects with `fail`; `up` drives available(). */
export function fakeTarget(name: string, weight: number): FakeTarget {
  const t: FakeTarget = {
    name, weight, calls: 0, up: true,
    available: () => t.up,
    infer: async () => {
      t.calls++;
      if (t.fail !== undefined) throw t.fail;
      return { predictions: [name] };
    },
  };
  return t;
}

/** context gives a CallContext with the given client headers. */
export function context(headers: IncomingHttpHeaders = {}, signal: AbortSignal = new AbortController().signal): CallContext {
  return { requestId: 'r1', signal, deadline: performance.now() + 30_000, forward: {}, headers, log: silentLogger, model: 'm' };
}

/** counts calls `infer` n times and counts the answering target (ctx.target) of each call. */
export async function counts(infer: Infer, n: number, headers: (i: number) => IncomingHttpHeaders = () => ({})): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const ctx = context(headers(i));
    await infer({ instances: [[i]] }, ctx);
    out[ctx.target!] = (out[ctx.target!] ?? 0) + 1;
  }
  return out;
}

/** recordingLogger collects the objects and messages logged at warn and above. */
export function recordingLogger(): { log: typeof silentLogger; lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: unknown, msg?: string) => { lines.push({ level, msg: msg ?? String(obj), obj: typeof obj === 'object' && obj !== null ? obj as Record<string, unknown> : {} }); };
  const log = { warn: at('warn'), error: at('error'), info: at('info'), debug: () => undefined, trace: () => undefined, fatal: at('fatal'), child: () => log } as unknown as typeof silentLogger;
  return { log, lines };
}
