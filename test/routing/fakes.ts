// fakes.ts (routing tests) — targets, a split over them and contexts for the routing unit tests.
// The split only names the target (ctx.target); `routed` puts behind it what the pipeline does,
// a step that sends the call to the target named, so a test sees which target answered.

import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../../src/errors.ts';
import { silentLogger } from '../../src/observe/log.ts';
import { split, targetOf, type SplitConfig } from '../../src/routing/split.ts';
import { createWeights } from '../../src/routing/weights.ts';
import type { CallContext, Infer, RoutedTarget, StageInstance, TargetWeights } from '../../src/types.ts';

/** splitConfig gives the split's part of a model block: the schema's defaults and the given fields. */
export function splitConfig(fields: Partial<SplitConfig> = {}): SplitConfig {
  return { allowOverride: [], ...fields };
}

/** FakeTarget is a RoutedTarget that answers with its own name and counts its calls. */
export interface FakeTarget extends RoutedTarget {
  calls: number;
  up: boolean;
  fail?: GatewayError | undefined;
  /** The versions its calls were for (undefined: the target's own). */
  versions: Array<string | undefined>;
  infer: Infer;
}

/** fakeTarget answers {predictions: [name]} or rejects with `fail`; `up` drives available(). */
export function fakeTarget(name: string, weight: number, fields: Partial<Pick<RoutedTarget, 'version' | 'versionLabel'>> = {}): FakeTarget {
  const t: FakeTarget = {
    name, weight, calls: 0, up: true, versions: [], ...fields,
    available: () => t.up,
    infer: async (_req, ctx) => {
      t.calls++;
      t.versions.push(targetOf(ctx).version);
      if (t.fail !== undefined) throw t.fail;
      return { predictions: [name] };
    },
  };
  return t;
}

/** openTarget is a fake target open to any version (`versions: any`): calls for such versions are "<name>@any". */
export function openTarget(name: string, weight: number): FakeTarget {
  return fakeTarget(name, weight, { versionLabel: () => `${name}@any` });
}

/** SplitStatus is the split's status, as /admin/status shows it. */
export interface SplitStatus {
  targets: Array<{ name: string; weight: number; effectiveWeight: number; available: boolean; picked: number; rolledBack?: string; reason?: string }>;
}

/** Routed is a split over fake targets with the step below it that calls the target it named. */
export interface Routed {
  infer: Infer;
  weights: TargetWeights;
  split: StageInstance;
  status(): SplitStatus;
}

/** routed builds the split plugin over `targets`, with live weights made from theirs. */
export function routed(targets: FakeTarget[], config: SplitConfig = splitConfig(),
  opts: { model?: string; log?: typeof silentLogger; weights?: TargetWeights } = {}): Routed {
  const model = opts.model ?? 'm';
  const log = opts.log ?? silentLogger;
  const weights = opts.weights ?? createWeights(targets, { model, log });
  const instance = split.create(config, { model, log, targets, weights, timeoutMs: 30_000, backends: new Map(), metadata: () => Promise.reject(new Error('no metadata in this fake')) });
  const byName = new Map(targets.map((t) => [t.name, t]));
  const toTarget: Infer = (req, ctx) => {
    const t = byName.get(targetOf(ctx).name);
    if (t === undefined) return Promise.reject(new GatewayError('internal', `the split named no known target: ${ctx.target}`));
    return t.infer(req, ctx);
  };
  return { infer: instance.stage(toTarget), weights, split: instance, status: () => instance.status!() as SplitStatus };
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

/** recordingLogger collects the objects and messages logged at info and above. */
export function recordingLogger(): { log: typeof silentLogger; lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; obj: Record<string, unknown> }> = [];
  const at = (level: string) => (obj: unknown, msg?: string) => { lines.push({ level, msg: msg ?? String(obj), obj: typeof obj === 'object' && obj !== null ? obj as Record<string, unknown> : {} }); };
  const log = { warn: at('warn'), error: at('error'), info: at('info'), debug: () => undefined, trace: () => undefined, fatal: at('fatal'), child: () => log } as unknown as typeof silentLogger;
  return { log, lines };
}
