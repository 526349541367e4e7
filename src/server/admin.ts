// admin.ts — /metrics, /admin/status and /admin/reload, on the admin port (or the main port
// when no admin port is configured), all three behind a bearer token when one is set; and the
// status page that reads them, at / on the admin port and /admin on either (status-page.ts).

import { timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../errors.ts';
import { collectProcessMetrics, registry } from '../observe/metrics.ts';
import type { HttpRequest, RawRoute, Route } from '../types.ts';
import { statusPage } from './status-page.ts';

export interface AdminDeps {
  /** The /admin/status document (or a promise of it). */
  status(): unknown;
  reload(): Promise<{ ok: boolean; error?: string }>;
  token?: string;
}

/** adminGuard throws 401 unless the request carries the admin token (when one is set). */
export function adminGuard(token: string | undefined): (req: Pick<HttpRequest, 'headers'>) => void {
  return (req) => {
    if (token === undefined) return;
    const given = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1] ?? '';
    if (!sameSecret(given, token)) {
      throw new GatewayError('unauthorized', 'the admin endpoints need "Authorization: Bearer <adminToken>"',
        { headers: { 'www-authenticate': 'Bearer' } });
    }
  };
}

/** behindAdminToken puts the admin token in front of the frontend routes marked `admin` (model load and unload). */
export function behindAdminToken(routes: Array<Route | RawRoute>, token: string | undefined): Array<Route | RawRoute> {
  if (token === undefined) return routes;
  const guard = adminGuard(token);
  return routes.map((r) => ('raw' in r || r.admin !== true ? r : { ...r, handle: async (req: HttpRequest) => { guard(req); return r.handle(req); } }));
}

/** adminRoutes builds the admin surface. */
export function adminRoutes(deps: AdminDeps): Route[] {
  const guard = adminGuard(deps.token);
  return [
    // The page holds no data (its script sends the token with each read), so it needs none itself.
    { method: 'GET', path: '/admin', frontend: 'admin', handle: async () => statusPage() },
    {
      method: 'GET', path: '/metrics', frontend: 'admin',
      // Behind the token too: with adminPort "same" the metrics would otherwise be public.
      handle: async (req) => { guard(req); collectProcessMetrics(); return { status: 200, headers: { 'content-type': registry.contentType }, body: await registry.metrics() }; },
    },
    {
      method: 'GET', path: '/admin/status', frontend: 'admin',
      handle: async (req) => { guard(req); collectProcessMetrics(); return { status: 200, body: await deps.status() }; },
    },
    {
      method: 'POST', path: '/admin/reload', frontend: 'admin',
      handle: async (req) => {
        guard(req);
        const result = await deps.reload();
        if (!result.ok) throw new GatewayError('bad_config', result.error ?? 'the new config was refused; the running one stays');
        return { status: 200, body: { reloaded: true } };
      },
    },
  ];
}

/** statusPageRoute is the status page at /: only on a separate admin port, where / is free. */
export const statusPageRoute: Route = { method: 'GET', path: '/', frontend: 'admin', handle: async () => statusPage() };

/** sameSecret compares in constant time (for equal lengths; lengths are not secret). */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
