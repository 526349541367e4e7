// router.ts — method + path table built from the frontends' routes. Names in paths are
// matched on the raw (undecoded) path against a strict pattern, so "..", "%2e%2e", "%2F"
// and look-alikes never reach a handler or a backend.

import { namePattern } from '../config/names.ts';
import type { RawRoute, Route } from '../types.ts';

export type RouteMatch =
  | { kind: 'route'; route: Route; params: Record<string, string> }
  | { kind: 'raw'; route: RawRoute }
  | { kind: 'none'; status: 404 }
  | { kind: 'none'; status: 405; allow: string[] };

/** RouteConflictError says two frontends claim the same method and path. */
export class RouteConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RouteConflictError';
  }
}

interface Compiled {
  /** The pattern as written (RegExp.source escapes "/", so it cannot be compared with it). */
  source: string;
  regex: RegExp;
  names: string[];
  routes: Map<string, Route>;
}

/** Router resolves a method and raw path to a route, or to 404/405 with the allowed methods. */
export class Router {
  /**
   * Requests that matched through this router and have not finished (their response closed):
   * a reload retires the old config only when none is left, counting from the first byte, so
   * a request still sending its body is not cut off by the swap.
   */
  active = 0;
  #exact = new Map<string, Map<string, Route>>();
  #patterns: Compiled[] = [];
  #raw: RawRoute[] = [];

  constructor(routes: Array<Route | RawRoute>) {
    for (const r of routes) {
      if ('raw' in r) this.#raw.push(r);
      else this.#add(r);
    }
  }

  #add(route: Route): void {
    const methods = (table: Map<string, Route>): void => {
      const taken = table.get(route.method);
      if (taken !== undefined && taken.path === route.path) {
        throw new RouteConflictError(`${route.method} ${route.path} is claimed by both ${taken.frontend} and ${route.frontend}; give one of them another route in the config`);
      }
      table.set(route.method, route);
      if (route.method === 'GET' && !table.has('HEAD')) table.set('HEAD', route);
    };
    if (!route.path.includes('{')) {
      let table = this.#exact.get(route.path);
      if (table === undefined) this.#exact.set(route.path, (table = new Map()));
      methods(table);
      return;
    }
    const names: string[] = [];
    const source = route.path.replace(/\{([A-Za-z_]+)\}|[.*+?^$()|[\]\\]/g, (m, name: string | undefined) => {
      if (name === undefined) return `\\${m}`;
      names.push(name);
      return `(${namePattern})`;
    });
    // One entry per path, whatever its methods (GET and DELETE /models/{name}).
    let compiled = this.#patterns.find((c) => c.source === source);
    if (compiled === undefined) {
      compiled = { source, regex: new RegExp(`^${source}$`), names, routes: new Map() };
      this.#patterns.push(compiled);
    }
    methods(compiled.routes);
  }

  /** match finds the route for a method and a raw path (no query string). */
  match(method: string, path: string): RouteMatch {
    const exact = this.#exact.get(path);
    if (exact !== undefined) return pick(exact, method, {});
    for (const c of this.#patterns) {
      const m = c.regex.exec(path);
      if (m === null) continue;
      const params: Record<string, string> = {};
      c.names.forEach((n, i) => { params[n] = m[i + 1]!; });
      return pick(c.routes, method, params);
    }
    for (const r of this.#raw) {
      const hit = r.path.endsWith('/*') ? path.startsWith(r.path.slice(0, -1)) || path === r.path.slice(0, -2) : path === r.path;
      if (hit && (r.method === '*' || r.method === method)) return { kind: 'raw', route: r };
    }
    return { kind: 'none', status: 404 };
  }
}

function pick(table: Map<string, Route>, method: string, params: Record<string, string>): RouteMatch {
  const route = table.get(method);
  if (route !== undefined) return { kind: 'route', route, params };
  return { kind: 'none', status: 405, allow: [...table.keys()] };
}
