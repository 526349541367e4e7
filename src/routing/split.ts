// split.ts — picks the target of each call and names it in ctx.target (the one place that does):
// the version the client named, else the x-infergate-target override (only names the model
// allows), else the sticky key (weighted rendezvous hashing), else smooth weighted round robin
// (nginx / Traefik): deterministic, weights 3:1 give exactly 3 and 1 over 4 picks, and each
// target's picks are spread evenly instead of in runs. Unavailable targets (not ready, breaker
// open) are skipped and their share goes to the others. The stage below sends the call on to
// the target ctx.target names.

import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import type { CallContext, ModelStageDeps, RoutedTarget, StagePlugin } from '../types.ts';
import type { InferRequest } from '../tensors/tensor.ts';
import { rendezvousPick, stickyKey, stickySchema, type StickyCandidate, type StickyConfig } from './sticky.ts';

/** overrideHeader is the request header that names a target directly. */
export const overrideHeader = 'x-infergate-target';

/** SplitConfig is what the split reads of a model block. */
export interface SplitConfig {
  sticky?: StickyConfig;
  allowOverride: string[];
}

interface Entry {
  target: RoutedTarget;
  /** Smooth WRR running score. */
  current: number;
  picked: number;
}

/** split is the stage that chooses a model's target per call. */
export const split = {
  name: 'split',
  schema: {
    model: {
      sticky: stickySchema.optional(),
      allowOverride: z.array(z.string()).default([]).describe('Target names a client may pick with x-infergate-target.'),
    },
  },
  create(config, deps) {
    const { weights } = deps;
    const entries: Entry[] = deps.targets.map((target) => ({ target, current: 0, picked: 0 }));
    const byName = new Map(entries.map((e) => [e.target.name, e]));
    // The schema checks allowOverride against the targets; a stale name is ignored, not trusted.
    const allowed = config.allowOverride.filter((name) => byName.has(name));
    let epoch = weights.epoch;

    const weightOf = (e: Entry): number => weights.get(e.target.name);

    // smoothWeighted is nginx's smooth weighted round robin over the entries that pass `eligible`.
    const smoothWeighted = (eligible: (e: Entry) => boolean, weight: (e: Entry) => number): Entry | undefined => {
      if (weights.epoch !== epoch) {
        // The weights changed: start the rotation afresh so the new ratio holds from this pick.
        epoch = weights.epoch;
        for (const e of entries) e.current = 0;
      }
      let total = 0;
      let best: Entry | undefined;
      for (const e of entries) {
        if (!eligible(e)) continue;
        const w = weight(e);
        e.current += w;
        total += w;
        if (best === undefined || e.current > best.current) best = e;
      }
      if (best !== undefined) best.current -= total;
      return best;
    };

    const byWeight = (eligible: (e: Entry) => boolean = () => true): Entry | undefined =>
      smoothWeighted((e) => eligible(e) && weightOf(e) > 0 && e.target.available(), weightOf)
      // None available: pick anyway so the caller gets that target's own error (circuit_open, not ready).
      ?? smoothWeighted((e) => eligible(e) && weightOf(e) > 0, weightOf)
      ?? smoothWeighted(eligible, () => 1);

    const overridden = (asked: string): Entry => {
      if (allowed.includes(asked)) return byName.get(asked)!;
      const shown = JSON.stringify(asked.slice(0, 100));
      throw new GatewayError('bad_request', allowed.length === 0
        ? `model ${deps.model} does not allow choosing a target with ${overrideHeader} (asked for ${shown})`
        : `${overrideHeader} ${shown} is not allowed for model ${deps.model}; allowed: ${allowed.join(', ')}`);
    };

    // A named version goes to the target pinning it, else to one open to any version.
    const forVersion = (version: string): { entry: Entry; name: string } => {
      const pinned = entries.find((e) => e.target.version === version);
      if (pinned !== undefined) return { entry: pinned, name: pinned.target.name };
      const open = byWeight((e) => e.target.versionLabel !== undefined);
      if (open === undefined) throw new GatewayError('model_not_found', `model "${deps.model}" has no version "${version}" here`);
      return { entry: open, name: open.target.versionLabel!(version) };
    };

    const choose = (req: InferRequest, ctx: CallContext): { entry: Entry; name: string } => {
      if (ctx.version !== undefined) return forVersion(ctx.version);
      const asked = headerValue(ctx.headers[overrideHeader]);
      if (asked !== undefined) {
        const entry = overridden(asked);
        return { entry, name: entry.target.name };
      }
      if (config.sticky !== undefined) {
        const key = stickyKey(config.sticky, ctx.headers, req);
        if (key !== undefined) {
          const candidates: Array<StickyCandidate & { entry: Entry }> = [];
          for (const e of entries) if (weightOf(e) > 0 && e.target.available()) candidates.push({ name: e.target.name, weight: weightOf(e), entry: e });
          const i = rendezvousPick(key, candidates);
          if (i >= 0) return { entry: candidates[i]!.entry, name: candidates[i]!.name };
        }
      }
      const entry = byWeight()!;
      return { entry, name: entry.target.name };
    };

    return {
      stage: (next) => (req, ctx) => {
        let picked;
        try {
          picked = choose(req, ctx);
        } catch (err) {
          return Promise.reject(err);
        }
        picked.entry.picked++;
        ctx.target = picked.name;
        return next(req, ctx);
      },
      status: () => ({
        targets: entries.map((e) => {
          const reason = weights.reason(e.target.name);
          const effectiveWeight = weightOf(e);
          return {
            name: e.target.name, weight: e.target.weight, effectiveWeight, available: e.target.available(), picked: e.picked,
            ...(reason !== undefined && effectiveWeight === 0 ? { rolledBack: reason } : {}),
            ...(reason !== undefined ? { reason } : {}),
          };
        }),
      }),
    };
  },
} satisfies StagePlugin<SplitConfig, ModelStageDeps>;

function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

/**
 * targetOf reads which target a call was sent to: the name the split gave it, and for a call
 * to a version no target pins, that version ("<target>@<version>" names an open target's path).
 */
export function targetOf(ctx: Pick<CallContext, 'target' | 'version'>): { name: string; version?: string } {
  const named = ctx.target ?? '';
  const at = named.indexOf('@');
  return at < 0 ? { name: named } : { name: named.slice(0, at), version: ctx.version! };
}
