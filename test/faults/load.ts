// load.ts (fault tests) — concurrent requests against the gateway, each classified: an answer
// (status, JSON error code, time) or a hang (no answer by deadline + 1 s) or a transport error.

import { Agent, request } from 'undici';

/** Outcome is what one client request got. */
export interface Outcome {
  status: number;
  /** The JSON error code for non-2xx answers; 'not_json' when the body was not a JSON error. */
  code?: string;
  ms: number;
  /** No answer within the client's patience (deadline + 1 s). */
  hang?: boolean;
  /** The connection failed without an HTTP answer. */
  transport?: string;
  retryAfter?: string;
}

// A client that leaves: an abort whose reason is not a TimeoutError, told apart from a hang.
function abortIn(ms: number): AbortSignal {
  const c = new AbortController();
  setTimeout(() => c.abort(new Error('client left')), ms).unref();
  return c.signal;
}

const agent = new Agent({ connections: 64, keepAliveTimeout: 1_000 });

/** closeLoadAgent closes the shared client (call in after()). */
export function closeLoadAgent(): Promise<void> { return agent.close(); }

/** body is a two-row `instances` request. */
export const body = JSON.stringify({ instances: [[1, 2], [3, 4]] });

/** send makes one request and classifies it; patienceMs is the deadline + 1 s; abortAfterMs plays a client that leaves. */
export async function send(url: string, patienceMs: number, abortAfterMs?: number): Promise<Outcome> {
  const started = performance.now();
  try {
    const signal = abortAfterMs === undefined ? AbortSignal.timeout(patienceMs)
      : AbortSignal.any([AbortSignal.timeout(patienceMs), abortIn(abortAfterMs)]);
    const res = await request(url, {
      method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent, signal,
    });
    const text = await res.body.text();
    const ms = performance.now() - started;
    if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, ms };
    const retryAfter = res.headers['retry-after']?.toString();
    try {
      const doc = JSON.parse(text) as { error?: unknown; code?: unknown };
      const good = typeof doc.error === 'string' && typeof doc.code === 'string' && res.headers['content-type']?.toString().includes('json');
      return { status: res.statusCode, code: good ? String(doc.code) : 'not_json', ms, ...(retryAfter === undefined ? {} : { retryAfter }) };
    } catch {
      return { status: res.statusCode, code: 'not_json', ms };
    }
  } catch (err) {
    const ms = performance.now() - started;
    const e = err as Error & { code?: string };
    if (e.name === 'TimeoutError') return { status: 0, ms, hang: true };
    if (e.message === 'client left' || e.name === 'AbortError') return { status: 0, ms, transport: 'client_left' };
    return { status: 0, ms, transport: e.code ?? e.message };
  }
}

/** fire sends n requests with `concurrency` in flight at once and returns every outcome in order. */
export async function fire(url: string, n: number, concurrency: number, patienceMs: number): Promise<Outcome[]> {
  const out: Outcome[] = new Array(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      out[i] = await send(url, patienceMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/** summary counts outcomes by "status code" for assertion messages. */
export function summary(outcomes: Outcome[]): Record<string, number> {
  const s: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.hang ? 'hang' : o.transport !== undefined ? `transport:${o.transport}` : `${o.status}${o.code === undefined ? '' : ` ${o.code}`}`;
    s[key] = (s[key] ?? 0) + 1;
  }
  return s;
}

/** breakerStateOf reads infergate_breaker_state for a target from /metrics (undefined if absent). */
export async function breakerStateOf(adminUrl: string, target: string): Promise<number | undefined> {
  const res = await request(`${adminUrl}/metrics`, { dispatcher: agent });
  const text = await res.body.text();
  const line = text.split('\n').find((l) => l.startsWith(`infergate_breaker_state{target="${target}"}`));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** waitFor polls until check() is true or the time is up; resolves with the last result. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() > until) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** fireFor keeps `concurrency` requests in flight for durationMs and returns every outcome. */
export async function fireFor(url: string, durationMs: number, concurrency: number, patienceMs: number): Promise<Outcome[]> {
  const out: Outcome[] = [];
  const until = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < until) out.push(await send(url, patienceMs));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}
