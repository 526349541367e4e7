// split.ts — picks the target of each request: the x-infergate-target override (only names the
// model allows), else the sticky key (weighted rendezvous hashing), else smooth weighted round
// robin (nginx / Traefik): deterministic, weights 3:1 give exactly 3 and 1 over 4 picks, and the
// picks of each target are spread evenly instead of in runs. Unavailable targets (not ready,
// breaker open) are skipped and their share goes to the others.

import type { Logger } from 'pino';
import type { ModelConfig } from '../config/schema.ts';
import { GatewayError } from '../errors.ts';
import type { CallContext, Infer } from '../types.ts';
import type { InferRequest } from '../tensors/tensor.ts';
import { rendezvousPick, stickyKey, type StickyCandidate } from './sticky.ts';

/** overrideHeader is the request header that names a target directly. */
export const overrideHeader = 'x-infergate-target';

/** SplitTarget is one target as the split sees it. */
export interface SplitTarget { name: string; weight: number; infer: Infer; available(): boolean }

/** SplitStatus is the split's part of /admin/status. */
export interface SplitStatus {
  targets: { name: string; weight: number; effectiveWeight: number; available: boolean; picked: number; rolledBack?: string; reason?: string }[];
}

/** Split is a model's target picker with live weights. */
export interface Split {
  infer: Infer;
  status(): SplitStatus;
  /** setWeight changes a target's weight at once (rollback, promotion); the config's weight returns on reload. */
  setWeight(name: string, weight: number, reason?: string): void;
}

interface Entry {
  target: SplitTarget;
  weight: number;
  /** Smooth WRR running score. */
  current: number;
  picked: number;
  reason?: string;
}

/** createSplit builds the picker for one model over its targets. */
export function createSplit(model: ModelConfig, targets: SplitTarget[], opts: { model: string; log: Logger }): Split {
  if (targets.length === 0) throw new GatewayError('internal', `model ${opts.model} has no targets`);
  const entries: Entry[] = targets.map((target) => ({ target, weight: target.weight, current: 0, picked: 0 }));
  const byName = new Map(entries.map((e) => [e.target.name, e]));
  const allowed: string[] = [];
  for (const name of model.allowOverride ?? []) {
    if (byName.has(name)) allowed.push(name);
    else opts.log.warn({ model: opts.model, name, targets: [...byName.keys()] }, 'allowOverride names no target of this model; ignored');
  }
  const sticky = model.sticky;

  const choose = (req: InferRequest, ctx: CallContext): Entry => {
    const asked = headerValue(ctx.headers[overrideHeader]);
    if (asked !== undefined) return overridden(asked);
    if (sticky !== undefined) {
      const key = stickyKey(sticky, ctx.headers, req);
      if (key !== undefined) {
        const candidates: Array<StickyCandidate & { entry: Entry }> = [];
        for (const e of entries) if (e.weight > 0 && e.target.available()) candidates.push({ name: e.target.name, weight: e.weight, entry: e });
        const i = rendezvousPick(key, candidates);
        if (i >= 0) return candidates[i]!.entry;
      }
    }
    return smoothWeighted((e) => e.weight > 0 && e.target.available(), (e) => e.weight)
      // None available: pick anyway so the caller gets that target's own error (circuit_open, not ready).
      ?? smoothWeighted((e) => e.weight > 0, (e) => e.weight)
      ?? smoothWeighted(() => true, () => 1)!;
  };

  const overridden = (asked: string): Entry => {
    if (allowed.includes(asked)) return byName.get(asked)!;
    const shown = JSON.stringify(asked.slice(0, 100));
    throw new GatewayError('bad_request', allowed.length === 0
      ? `model ${opts.model} does not allow choosing a target with ${overrideHeader} (asked for ${shown})`
      : `${overrideHeader} ${shown} is not allowed for model ${opts.model}; allowed: ${allowed.join(', ')}`);
  };

  // smoothWeighted is nginx's smooth weighted round robin over the entries that pass `eligible`.
  const smoothWeighted = (eligible: (e: Entry) => boolean, weightOf: (e: Entry) => number): Entry | undefined => {
    let total = 0;
    let best: Entry | undefined;
    for (const e of entries) {
      if (!eligible(e)) continue;
      const w = weightOf(e);
      e.current += w;
      total += w;
      if (best === undefined || e.current > best.current) best = e;
    }
    if (best !== undefined) best.current -= total;
    return best;
  };

  return {
    infer: (req, ctx) => {
      let entry: Entry;
      try {
        entry = choose(req, ctx);
      } catch (err) {
        return Promise.reject(err);
      }
      entry.picked++;
      ctx.target = entry.target.name;
      return entry.target.infer(req, ctx);
    },
    status: () => ({
      targets: entries.map((e) => ({
        name: e.target.name, weight: e.target.weight, effectiveWeight: e.weight, available: e.target.available(), picked: e.picked,
        ...(e.reason !== undefined && e.weight === 0 ? { rolledBack: e.reason } : {}),
        ...(e.reason !== undefined ? { reason: e.reason } : {}),
      })),
    }),
    setWeight: (name, weight, reason) => {
      const entry = byName.get(name);
      if (entry === undefined) throw new GatewayError('internal', `model ${opts.model} has no target ${name}`);
      if (!Number.isFinite(weight) || weight < 0) throw new GatewayError('internal', `weight ${weight} for ${name} is not a non-negative number`);
      opts.log.info({ model: opts.model, target: name, from: entry.weight, to: weight, reason }, 'target weight changed');
      entry.weight = weight;
      entry.reason = reason;
      // Start the round robin afresh so the new ratio holds from the next pick.
      for (const e of entries) e.current = 0;
    },
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}
