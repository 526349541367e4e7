// hostile.ts — generated hostile HTTP requests (paths, methods, headers, framing, bodies) sent
// over raw sockets to a running gateway, each answer checked: no crash, no 5xx where a 4xx is
// due, every 4xx a JSON error with a code, no answer slower than the bound.

import { connect } from 'node:net';
import fc from 'fast-check';

const names = ['iris', 'iris/versions/1', '..', '%2e%2e', '.%2e', 'a%2Fb', '\u0130ris', 'ir\u0131s', 'x'.repeat(300), '', '%00', 'iris%00', '..%2f..%2fetc'];
const pathArb = fc.oneof(
  fc.constantFrom('/predict', '/invocations', '/ping', '/health', '/v2', '/v2/health/ready', '/v1/models', '/metrics', '/admin/status'),
  fc.constantFrom(...names).map((n) => `/v2/models/${n}/infer`),
  fc.constantFrom(...names).map((n) => `/v1/models/${n}:predict`),
  fc.constantFrom(...names).map((n) => `/v2/models/${n}`),
  fc.array(fc.constantFrom('a', '..', '.', '%2e', '%2F', '//', 'v2', 'models', '\u00ff', '?x=1', '#f', ';', '%'), { maxLength: 8 }).map((s) => `/${s.join('/')}`),
  fc.string({ maxLength: 64 }).map((s) => `/${encodeURI(s)}`),
);

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.integer(), fc.double(), fc.string(), fc.boolean(), fc.constant(null),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((b) => ({ toJSON: () => b.toString() })),
    fc.array(tie('value'), { maxLength: 5 }), fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 })),
})).value;

const tensorArb = fc.record({
  name: fc.oneof(fc.constantFrom('input', 'x', '__proto__', 'constructor'), fc.string({ maxLength: 8 })),
  datatype: fc.oneof(fc.constantFrom('FP32', 'INT64', 'BYTES', 'BOOL', 'FP16', 'UINT8'), fc.string({ maxLength: 6 })),
  shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 5 }), { maxLength: 4 }), fc.constant([1e9, 1e9]), jsonValue),
  data: fc.oneof(fc.array(fc.double(), { maxLength: 12 }), jsonValue),
});

const bodyArb: fc.Arbitrary<string | Buffer> = fc.oneof(
  jsonValue.map((v) => JSON.stringify({ instances: v })),
  fc.array(fc.array(fc.oneof(fc.double(), fc.integer(), fc.string({ maxLength: 3 })), { maxLength: 6 }), { maxLength: 6 })
    .map((rows) => JSON.stringify({ instances: rows })),
  fc.array(tensorArb, { maxLength: 3 }).map((inputs) => JSON.stringify({ inputs, id: '1' })),
  jsonValue.map((v) => JSON.stringify(v) ?? 'null'),
  fc.constantFrom('{"instances": [[NaN, 1, 2, 3]]}', '{"instances": [[Infinity,0,0,0]]}', '{"__proto__": {"instances": [[1,2,3,4]]}}',
    '{"instances": [[1,2,3,4]], "constructor": {"prototype": {"polluted": 1}}}', `${'['.repeat(5000)}${']'.repeat(5000)}`,
    '{"instances": ' + '['.repeat(200) + ']'.repeat(200) + '}', '{"instances": [[5.1,3.5,1.4,0.2]]}'),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc.string({ maxLength: 64 }),
);

const headerValue = fc.oneof(fc.string({ maxLength: 40 }).filter((s) => !/[\r\n]/.test(s)), fc.constantFrom('chunked', 'gzip, chunked', ' chunked', 'chunked\t', '0', '-1', '99999999999', 'application/json', 'text/csv', 'application/octet-stream'));
const headerArb = fc.tuple(
  fc.oneof(fc.constantFrom('content-type', 'transfer-encoding', 'content-length', 'connection', 'x-request-id', 'model_name', 'model_version',
    'inference-header-content-length', 'x-request-timeout-ms', 'x-infergate-target', 'authorization', 'upgrade', 'expect', 'host'),
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9-]{0,20}$/)),
  headerValue,
);

export interface HostileRequest { text: Buffer; description: string; method: string }

/** hostileRequestArb builds raw request bytes, some with broken framing on purpose. */
export const hostileRequestArb: fc.Arbitrary<HostileRequest> = fc.record({
  method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), fc.stringMatching(/^[A-Z]{1,8}$/)),
  path: pathArb,
  headers: fc.array(headerArb, { maxLength: 6 }),
  body: bodyArb,
  framing: fc.constantFrom('content-length', 'content-length', 'chunked', 'wrong-length', 'none', 'obs-fold', 'cl+te'),
}).map(({ method, path, headers, body, framing }) => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
  for (const [k, v] of headers) {
    if (['content-length', 'transfer-encoding', 'connection', 'host'].includes(k) && framing !== 'none') continue;
    lines.push(`${k}: ${v}`);
  }
  let payload = b;
  if (framing === 'content-length') lines.push(`content-length: ${b.length}`);
  else if (framing === 'wrong-length') lines.push(`content-length: ${b.length + 7}`);
  else if (framing === 'chunked') {
    lines.push('transfer-encoding: chunked');
    payload = Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]);
  } else if (framing === 'obs-fold') lines.push('x-folded: a', ' b', `content-length: ${b.length}`);
  else if (framing === 'cl+te') lines.push(`content-length: ${b.length}`, 'transfer-encoding: chunked');
  const text = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), payload]);
  return { text, method, description: `${method} ${path} [${framing}] ${b.length} bytes` };
});

export interface RawAnswer { status: number | undefined; headers: Record<string, string>; body: string; ms: number; closed: boolean }

/** sendRaw writes bytes on a fresh connection and reads until the server closes or the timeout. */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 2000): Promise<RawAnswer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const head = raw.split('\r\n\r\n')[0] ?? '';
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: status === undefined ? undefined : Number(status), headers, body: raw.slice(head.length + 4), ms: performance.now() - started, closed });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** checkAnswer returns what is wrong with an answer to a hostile request, or undefined. */
export function checkAnswer(a: RawAnswer, boundMs: number, method = 'GET'): string | undefined {
  if (a.ms > boundMs) return `answer took ${Math.round(a.ms)} ms`;
  if (a.status === undefined) return a.closed ? undefined : 'no answer and the connection stayed open';
  if (a.status >= 500 && a.status !== 503) return `status ${a.status}: ${a.body.slice(0, 200)}`;
  if (a.status >= 400 && a.status !== 405 || a.status === 405) {
    if (a.headers['content-type']?.startsWith('application/json') !== true) return `status ${a.status} without a JSON body`;
    if (method === 'HEAD') return undefined; // HEAD answers carry headers only
    // chunked or plain; the JSON error is small and arrives whole.
    const json = a.body.includes('{') ? a.body.slice(a.body.indexOf('{'), a.body.lastIndexOf('}') + 1) : '';
    try {
      const parsed = JSON.parse(json) as { error?: unknown; code?: unknown };
      if (typeof parsed.error !== 'string' || typeof parsed.code !== 'string') return `status ${a.status} JSON without error/code: ${json}`;
    } catch {
      if (a.headers['content-length'] !== '0') return `status ${a.status} with a body that is not JSON: ${a.body.slice(0, 100)}`;
    }
  }
  return undefined;
}
