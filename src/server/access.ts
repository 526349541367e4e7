// access.ts — puts a frontend's optional auth and rate limit in front of its routes. Only POST
// and DELETE routes (inference, model load and unload) are guarded: health and metadata GETs
// stay open for platform probes.

import type { RawRoute, Route } from '../types.ts';
import { createAuthenticator, credentialHeaders, type AuthConfig } from './auth.ts';
import { RateLimiter, type RateLimitConfig } from './rate-limit.ts';

export interface AccessConfig {
  auth?: AuthConfig;
  rateLimit?: RateLimitConfig;
}

/** guardRoutes wraps a frontend's routes with its auth and rate limit, when configured. */
export function guardRoutes(routes: Array<Route | RawRoute>, config: AccessConfig): Array<Route | RawRoute> {
  if (config.auth === undefined && config.rateLimit === undefined) return routes;
  const authenticate = config.auth === undefined ? undefined : createAuthenticator(config.auth);
  const limiter = config.rateLimit === undefined ? undefined : new RateLimiter(config.rateLimit);
  const credentials = config.auth === undefined ? [] : credentialHeaders(config.auth);
  return routes.map((route) => {
    if ('raw' in route) {
      if (authenticate === undefined && limiter === undefined) return route;
      // Raw routes stream: check before handing over the socket.
      return {
        ...route,
        raw: (req, res, ctx) => {
          void (async () => {
            const identity = authenticate === undefined ? undefined : await authenticate(req.headers);
            limiter?.take(limiter.keyFor(identity, req.headers, req.socket.remoteAddress ?? ''));
            for (const name of credentials) delete req.headers[name];
          })().then(() => route.raw(req, res, ctx), (err: unknown) => { ctx.fail(err); });
        },
      };
    }
    if (route.method !== 'POST' && route.method !== 'DELETE') return route;
    return {
      ...route,
      handle: async (req) => {
        const identity = authenticate === undefined ? undefined : await authenticate(req.headers);
        limiter?.take(limiter.keyFor(identity, req.headers, req.remoteAddress));
        return route.handle(req);
      },
    };
  });
}
