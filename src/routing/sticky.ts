// sticky.ts — weighted rendezvous (highest random weight) hashing: a key goes to the target with
// the highest score −weight / ln(u), u a uniform hash of (key, target). Raising one target's
// weight only raises its own scores, so keys move only to it; lowering it moves keys only away
// from it: on a weight change exactly the keys that must move do, and each target's share of
// keys is its share of the weight (Schindelhauer & Schomaker, "Weighted distributed hash tables").

import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { InferRequest } from '../tensors/tensor.ts';

/** stickySchema is a model's `sticky` block. */
export const stickySchema = z.strictObject({
  header: z.string().optional().describe('Request header whose value keeps a client on one target.'),
  field: z.string().optional().describe('Dotted path of a JSON field (e.g. parameters.user_id).'),
}).refine((s) => (s.header === undefined) !== (s.field === undefined), { message: 'set exactly one of header and field' })
  .describe('Sticky routing: the same key reaches the same target while weights are unchanged (weighted rendezvous hashing); requests without the key are split by weight.');

/** StickyCandidate is one target a key may be pinned to. */
export interface StickyCandidate {
  name: string;
  weight: number;
}

/** StickyConfig names where the key comes from: a header, or a dotted path into the request body. */
export interface StickyConfig {
  header?: string;
  field?: string;
}

/** stickyKey reads the sticky key of a request; undefined when it carries none. */
export function stickyKey(config: StickyConfig, headers: IncomingHttpHeaders, req: InferRequest): string | undefined {
  if (config.header !== undefined) {
    const value = headers[config.header.toLowerCase()];
    const first = Array.isArray(value) ? value[0] : value;
    return first === undefined || first === '' ? undefined : first;
  }
  if (config.field !== undefined) {
    let node: unknown = req;
    for (const part of config.field.split('.')) {
      if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
      node = (node as Record<string, unknown>)[part];
    }
    if (typeof node === 'string') return node === '' ? undefined : node;
    if (typeof node === 'number' || typeof node === 'bigint' || typeof node === 'boolean') return String(node);
  }
  return undefined;
}

/**
 * rendezvousPick returns the index of the candidate a key belongs to, among those with a positive
 * weight; -1 when none has one. Deterministic: the same key and weights give the same answer.
 */
export function rendezvousPick(key: string, candidates: readonly StickyCandidate[]): number {
  const k1 = fnv1a(key, 0x811c9dc5);
  const k2 = fnv1a(key, 0x01000193);
  let best = -1;
  let bestScore = -Infinity;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    if (!(c.weight > 0)) continue;
    const u = unitHash(k1, k2, c.name);
    const score = -c.weight / Math.log(u);
    // Ties (practically impossible) go to the lower name so the answer never depends on order.
    if (score > bestScore || (score === bestScore && best >= 0 && c.name < candidates[best]!.name)) {
      best = i;
      bestScore = score;
    }
  }
  return best;
}

const nameSeeds = new Map<string, [number, number]>();

// unitHash mixes the key's hashes with the target name's into a uniform number in (0, 1).
function unitHash(k1: number, k2: number, name: string): number {
  let seeds = nameSeeds.get(name);
  if (seeds === undefined) {
    seeds = [fnv1a(name, 0x9e3779b9), fnv1a(name, 0x85ebca6b)];
    if (nameSeeds.size < 10_000) nameSeeds.set(name, seeds);
  }
  const hi = fmix32((k1 ^ seeds[0]) >>> 0) >>> 11; // 21 bits
  const lo = fmix32((k2 ^ seeds[1] ^ 0x5bd1e995) >>> 0); // 32 bits
  return (hi * 2 ** 32 + lo + 0.5) / 2 ** 53;
}

function fnv1a(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h >>> 0);
}

// fmix32 is MurmurHash3's finaliser: every input bit affects every output bit.
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
