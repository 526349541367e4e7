// config-surface.ts (test support) — what a gateway config shows to the outside: ports, health
// and predict routes, drain timings. Read from the YAML with the gateway's own ${VAR} expansion and
// server schema, but without the backend and frontend registries, so the deployment files can be
// checked against a config even while a backend type is not registered yet.

import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { expandEnv } from '../../src/config/env.ts';
import { serverSchema, type ServerConfig } from '../../src/server/options.ts';

/** ConfigSurface is the part of a config that deployment files must agree with. */
export interface ConfigSurface {
  server: ServerConfig;
  /** Routes that answer 200 only when ready (every platform's health route, KServe ready). */
  readinessRoutes: string[];
  /** Routes that answer 200 while the process lives (KServe live). */
  livenessRoutes: string[];
  predictRoutes: string[];
  frontends: Record<string, Record<string, unknown>>;
  backends: Record<string, Record<string, unknown>>;
  models: Record<string, Record<string, unknown>>;
  /** The raw (unexpanded) text of server.port, e.g. ${AIP_HTTP_PORT:-8080}. */
  rawPort: string | undefined;
}

/** readSurface reads a config file. */
export function readSurface(file: string, env: Record<string, string | undefined> = {}): ConfigSurface {
  return configSurface(readFileSync(file, 'utf8'), env);
}

/** configSurface expands ${VAR} with env (default: none set, so defaults apply) and reads the surface. */
export function configSurface(text: string, env: Record<string, string | undefined> = {}): ConfigSurface {
  const raw = (parse(text) ?? {}) as Record<string, any>;
  const doc = expandAll(raw, env) as Record<string, any>;
  const server = serverSchema.parse(doc.server ?? {});
  const frontends = (doc.frontends ?? {}) as Record<string, Record<string, unknown>>;
  const readinessRoutes: string[] = [];
  const livenessRoutes: string[] = [];
  const predictRoutes: string[] = [];
  if (frontends.vertex) {
    readinessRoutes.push(String(frontends.vertex.healthRoute ?? '/health'));
    predictRoutes.push(String(frontends.vertex.predictRoute ?? '/predict'));
  }
  if (frontends.oci) {
    readinessRoutes.push(String(frontends.oci.healthRoute ?? '/health'));
    predictRoutes.push(String(frontends.oci.predictRoute ?? '/predict'));
  }
  if (frontends.sagemaker) {
    readinessRoutes.push('/ping');
    predictRoutes.push('/invocations');
  }
  if (frontends.kserve) {
    readinessRoutes.push('/v2/health/ready');
    livenessRoutes.push('/v2/health/live');
  }
  return {
    server, readinessRoutes, livenessRoutes, predictRoutes, frontends,
    backends: doc.backends ?? {}, models: doc.models ?? {},
    rawPort: raw.server?.port === undefined ? undefined : String(raw.server.port),
  };
}

function expandAll(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return value.includes('$') ? expandEnv(value, env) : value;
  if (Array.isArray(value)) return value.map((v) => expandAll(v, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandAll(v, env)]));
  }
  return value;
}
