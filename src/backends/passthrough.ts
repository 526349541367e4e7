// passthrough.ts — a raw streaming proxy (http-proxy-3) for routes that must not be parsed:
// Vertex rawPredict, unknown paths. Bodies stream both ways untouched; only the headers are
// cleaned: hop-by-hop headers and every header named in Connection are dropped, Upgrade is
// never forwarded, x-forwarded-* are set. This file is the only one that imports http-proxy-3.

import { Agent, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import type { Logger } from 'pino';
import { z } from 'zod';
import { duration } from '../config/units.ts';
import { GatewayError, toGatewayError } from '../errors.ts';
import type { Backend, BackendFactory, Health } from '../types.ts';

/** RawProxy streams one client request to the upstream at the given path (with query string); close() drops its idle sockets. */
export type RawProxy = ((req: IncomingMessage, res: ServerResponse, path: string) => void) & { close(): void };

export interface RawProxyOptions {
  /** No byte from the upstream for this long → 504 (or the stream is cut once started). */
  timeoutMs?: number;
  connectTimeoutMs?: number;
}

// RFC 9110 §7.6.1 plus the de-facto ones; `expect` too: Node already answered 100-continue.
const hopByHop = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings', 'expect',
]);
// A path as the router hands it: absolute, printable ASCII, no fragment.
const pathPattern = /^\/[\x21-\x7e]*$/;
const maxPathLength = 8192;

/** cleanHeaders drops hop-by-hop headers and every header the Connection header names. */
export function cleanHeaders<H extends IncomingHttpHeaders | OutgoingHttpHeaders>(headers: H): H {
  const named = new Set<string>();
  const connection = headers.connection;
  for (const value of Array.isArray(connection) ? connection : [connection]) {
    if (typeof value === 'string') for (const n of value.split(',')) named.add(n.trim().toLowerCase());
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(headers)) {
    const k = key.toLowerCase();
    if (value === undefined || hopByHop.has(k) || named.has(k)) continue;
    out[key] = value;
  }
  return out as H;
}

/**
 * createRawProxy makes a proxy to one upstream origin (an optional base path is kept): the
 * upstream URL is that origin + base + the given path, never a URL resolved against the
 * client's path. An `error` listener is always attached, since http-proxy-3 crashes the
 * process without one: before headers are sent it answers 502/504 JSON, after it cuts the stream.
 */
export function createRawProxy(origin: string, log: Logger, options: RawProxyOptions = {}): RawProxy {
  const base = new URL(origin);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error(`passthrough needs an http(s) URL, got ${origin}`);
  const prefix = `${base.origin}${base.pathname.replace(/\/+$/, '')}`;
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = createProxyServer({
    agent, changeOrigin: true, ignorePath: true, selfHandleResponse: true, xfwd: false,
    connectTimeout: options.connectTimeoutMs ?? 5000,
  });
  proxy.on('proxyReq', (proxyReq) => {
    if (options.timeoutMs === undefined) return;
    proxyReq.setTimeout(options.timeoutMs, () => {
      proxyReq.destroy(Object.assign(new Error(`upstream sent nothing for ${options.timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    });
  });

  proxy.on('proxyRes', (proxyRes, _req, res) => {
    const headers = cleanHeaders(proxyRes.headers);
    res.writeHead(proxyRes.statusCode ?? 502, proxyRes.statusMessage, headers);
    pipeline(proxyRes, res, (err) => {
      if (err !== undefined && err !== null) log.warn({ err: err.message, upstream: prefix }, 'passthrough stream cut');
    });
  });

  proxy.on('error', (err, _req, res) => {
    const e = toGatewayError(err, `passthrough upstream ${base.origin}`);
    log.warn({ err: (err as Error).message, code: (err as NodeJS.ErrnoException).code, upstream: prefix }, 'passthrough failed');
    if (res instanceof Socket) {
      res.destroy();
      return;
    }
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    writeJsonError(res, e.code === 'internal' ? new GatewayError('backend_unreachable', `passthrough upstream ${base.origin} failed (${code})`) : e);
  });

  const forward = (req: IncomingMessage, res: ServerResponse, path: string): void => {
    if (path.length > maxPathLength || !pathPattern.test(path)) {
      writeJsonError(res, new GatewayError('bad_request', 'the request path is not a valid absolute path'));
      req.resume();
      return;
    }
    req.headers = forwardedHeaders(req, res);
    proxy.web(req, res, { target: prefix + path });
  };
  return Object.assign(forward, { close: () => agent.destroy() });
}

function forwardedHeaders(req: IncomingMessage, res: ServerResponse): IncomingHttpHeaders {
  const headers = cleanHeaders(req.headers);
  const peer = req.socket.remoteAddress ?? '';
  const prior = headers['x-forwarded-for'];
  headers['x-forwarded-for'] = prior !== undefined && prior !== '' ? `${prior}, ${peer}` : peer;
  // Proto and host describe what the first proxy saw: keep a load balancer's values.
  headers['x-forwarded-proto'] ??= (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  if (headers['x-forwarded-host'] === undefined && headers.host !== undefined) headers['x-forwarded-host'] = headers.host;
  const id = res.getHeader('x-request-id');
  if (headers['x-request-id'] === undefined && typeof id === 'string') headers['x-request-id'] = id;
  return headers;
}

// NOTE: server/reply.ts writes every other error; a raw stream has no promise to reject, and a
// backend must not import the server layer, so this one answer is written here in the same shape.
function writeJsonError(res: ServerResponse, e: GatewayError): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(e.toJSON());
  const headers: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
  if (e.retryAfter !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(e.retryAfter)));
  res.writeHead(e.status, headers);
  res.end(body);
}

const passthroughSchema = z.strictObject({
  type: z.literal('passthrough'),
  url: z.url({ protocol: /^https?$/ }).describe('Upstream origin, optionally with a base path: requests go to url + their path.'),
  timeoutMs: duration.prefault('60s').describe('Longest wait for the upstream\'s next byte; then 504 (or the stream is cut).'),
  connectTimeoutMs: duration.prefault('5s').describe('Longest wait to connect to the upstream.'),
  healthPath: z.string().regex(/^\//).optional().describe('GET this path for health (2xx = ready); omitted = a TCP connect to the origin.'),
}).describe('Raw streaming proxy for routes that must not be parsed (rawPredict, unknown paths).');

type PassthroughConfig = z.infer<typeof passthroughSchema>;

/** passthrough is the registry entry of the raw proxy backend. */
export const passthrough: BackendFactory<PassthroughConfig> = {
  type: 'passthrough',
  schema: passthroughSchema,
  create(name, config, deps): Backend {
    const proxy = createRawProxy(config.url, deps.log, { timeoutMs: config.timeoutMs, connectTimeoutMs: config.connectTimeoutMs });
    const health = (signal?: AbortSignal): Promise<Health> => probe(config.url, config.healthPath, signal);
    const notModels = (): Promise<never> => Promise.reject(new GatewayError('bad_request',
      `backend "${name}" is a passthrough: it serves raw routes only, not model calls`));
    return {
      name, type: 'passthrough',
      start: async () => {},
      model: () => ({ infer: notModels, metadata: notModels, health }),
      health,
      proxy,
      close: async () => { proxy.close(); },
    };
  },
};

async function probe(url: string, healthPath: string | undefined, signal?: AbortSignal): Promise<Health> {
  const origin = new URL(url);
  if (healthPath !== undefined) {
    try {
      const res = await fetch(`${origin.origin}${healthPath}`, { signal: signal ?? AbortSignal.timeout(5000) });
      await res.body?.cancel();
      return res.ok ? { ready: true } : { ready: false, reason: `GET ${healthPath} answered ${res.status}` };
    } catch (err) {
      return { ready: false, reason: `GET ${healthPath} failed: ${toGatewayError(err).message}` };
    }
  }
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (h: Health): void => { socket.destroy(); resolve(h); };
    socket.setTimeout(5000, () => done({ ready: false, reason: `connect to ${origin.host} timed out` }));
    signal?.addEventListener('abort', () => done({ ready: false, reason: 'health check aborted' }), { once: true });
    socket.once('error', (err: NodeJS.ErrnoException) => done({ ready: false, reason: `cannot connect to ${origin.host} (${err.code ?? err.message})` }));
    socket.connect(Number(origin.port || (origin.protocol === 'https:' ? 443 : 80)), origin.hostname.replace(/^\[|\]$/g, ''), () => done({ ready: true }));
  });
}
