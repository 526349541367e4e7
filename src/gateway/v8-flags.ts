// v8-flags.ts — the V8 flags the gateway sets on itself, imported first by main.ts so that they
// apply before the request path's code has run (and its allocation sites have any feedback).
//
// Allocation-site pretenuring off. V8 moves an allocation site to the old space once most of
// its objects outlive a scavenge; in a proxy, the objects that do are the few requests in flight
// at that moment, and the pretenured ones (old, soon dead) then keep each later request's young
// objects alive through every scavenge until a full GC: the more survive, the more sites are
// pretenured. Measured under wrk -c32 (--trace-gc-nvp, 5 s): on the raw route, which streams
// each body into undici, 10–12 MB copied per scavenge with it, 2.5–2.8 MB without (about 11% less
// CPU per request, bench/ab.ts raw); on the parsed route 3.7–4.6 MB either way in most runs
// (about 5% less CPU per request). A 20-line proxy with a small heap
// hardly triggers it; the same proxy beside 1 M long-lived objects copies 14.6 MB per scavenge
// with it and 0.4 MB without. `node --allocation-site-pretenuring src/main.ts` keeps V8's default.

import { createRequire } from 'node:module';

const { setFlagsFromString } = createRequire(import.meta.url)('node:v8') as typeof import('node:v8');
if (!process.execArgv.some((arg) => arg.includes('allocation-site-pretenuring'))) setFlagsFromString('--no-allocation-site-pretenuring');
