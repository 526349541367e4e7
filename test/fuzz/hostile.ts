// hostile.ts — generated hostile HTTP requests (paths, methods, headers, framing, bodies) sent
// over raw sockets to a running gateway, each answer checked: no crash, no 5xx where a 4xx is
// due, every 4xx a JSON error with a code, no answer slower than the bound. Framing includes
// what NGINX refuses and Node accepts (Transfer-Encoding lists, HTTP/1.0 with
// Transfer-Encoding, two Hosts: a 400 and a close), compressed bodies (gzip, deflate, a zip
// bomb, codings the gateway does not decode), Expect: 100-continue, and pipelined copies
// (answered in order, never more answers than requests).

import { connect } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { parseResponses } from '../support/raw-client.ts';

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

export interface HostileRequest {
  text: Buffer;
  description: string;
  method: string;
  /** The only statuses acceptable (framing the gateway must refuse), when the framing fixes it. */
  statuses?: number[];
  /** An answer whose body matches this is wrong (a coded body read without decoding it). */
  forbid?: RegExp;
  /** The request ids of pipelined copies, in the order their answers must come. */
  pipelined?: string[];
}

const teLists = ['identity, chunked', ',chunked', 'gzip, chunked', 'chunked, identity', 'Chunked, chunked', 'deflate,chunked'];
const otherCodings = ['br', 'zstd', 'compress', 'gzip, gzip', 'x-unknown', 'deflate, br'];
let zipBomb: Buffer | undefined;
// 16 MB of zeros in about 16 KB: under the fuzz gateway's 64 KB maxBodyBytes, far over it decoded.
const bomb = (): Buffer => (zipBomb ??= gzipSync(Buffer.alloc(16 * 1024 * 1024), { level: 9 }));

/** hostileRequestArb builds raw request bytes, some with broken framing on purpose. */
export const hostileRequestArb: fc.Arbitrary<HostileRequest> = fc.record({
  method: fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'), fc.stringMatching(/^[A-Z]{1,8}$/)),
  path: pathArb,
  headers: fc.array(headerArb, { maxLength: 6 }),
  body: bodyArb,
  framing: fc.constantFrom('content-length', 'content-length', 'chunked', 'wrong-length', 'none', 'obs-fold', 'cl+te',
    'te-list', 'http/1.0+te', 'duplicate-host', 'gzip', 'deflate', 'zip-bomb', 'other-coding', 'expect-continue', 'pipelined'),
  pick: fc.nat({ max: 1000 }),
}).map(({ method, path, headers, body, framing, pick }) => {
  let b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const lines = [`${method} ${path} ${framing === 'http/1.0+te' ? 'HTTP/1.0' : 'HTTP/1.1'}`, 'host: 127.0.0.1', 'connection: close'];
  for (const [k, v] of headers) {
    if (['content-length', 'transfer-encoding', 'connection', 'host'].includes(k) && framing !== 'none') continue;
    if (['content-encoding', 'expect'].includes(k) && ['gzip', 'deflate', 'zip-bomb', 'other-coding', 'expect-continue'].includes(framing)) continue;
    if (k === 'x-request-id' && framing === 'pipelined') continue;
    lines.push(`${k}: ${v}`);
  }
  let statuses: number[] | undefined;
  let forbid: RegExp | undefined;
  let variant = '';
  if (framing === 'te-list' || framing === 'http/1.0+te' || framing === 'duplicate-host') {
    // Refused before routing, whatever the path and method; an Expect the gateway does not know is refused first.
    statuses = [400, 417];
    variant = framing === 'te-list' ? teLists[pick % teLists.length]! : '';
  }
  let payload = b;
  if (framing === 'te-list' || framing === 'http/1.0+te') {
    lines.push(`transfer-encoding: ${framing === 'te-list' ? variant : 'chunked'}`);
    payload = Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]);
  } else if (framing === 'duplicate-host') lines.push(`host: ${pick % 2 === 0 ? '127.0.0.1' : 'other.example'}`, `content-length: ${b.length}`);
  else if (framing === 'gzip' || framing === 'deflate' || framing === 'zip-bomb' || framing === 'other-coding') {
    payload = framing === 'gzip' ? gzipSync(b) : framing === 'deflate' ? deflateSync(b) : framing === 'zip-bomb' ? bomb() : b;
    variant = framing === 'other-coding' ? otherCodings[pick % otherCodings.length]! : framing === 'zip-bomb' ? 'gzip' : pick % 3 === 0 ? `x-${framing}` : framing;
    if (variant === 'x-deflate') variant = 'deflate';
    lines.push(`content-encoding: ${variant}`, `content-length: ${payload.length}`);
    // Decoded, the body is what it was: if that was UTF-8, no answer may call it otherwise.
    if (framing !== 'other-coding' && Buffer.from(b.toString('utf8')).equals(b)) forbid = /not valid UTF-8/;
  } else if (framing === 'expect-continue') lines.push('expect: 100-continue', `content-length: ${b.length}`);
  else if (framing === 'content-length' || framing === 'pipelined') lines.push(`content-length: ${b.length}`);
  else if (framing === 'wrong-length') lines.push(`content-length: ${b.length + 7}`);
  else if (framing === 'chunked') {
    lines.push('transfer-encoding: chunked');
    payload = Buffer.concat([Buffer.from(`${b.length.toString(16)}\r\n`), b, Buffer.from('\r\n0\r\n\r\n')]);
  } else if (framing === 'obs-fold') lines.push('x-folded: a', ' b', `content-length: ${b.length}`);
  else if (framing === 'cl+te') lines.push(`content-length: ${b.length}`, 'transfer-encoding: chunked');
  const description = `${method} ${path} [${framing}${variant === '' ? '' : ` ${variant}`}] ${payload.length} bytes`;
  if (framing === 'pipelined') {
    // Three copies on one connection, the last one closing it: answered in order, never more answers than requests.
    const ids = ['fz-0', 'fz-1', 'fz-2'];
    const copies = ids.map((id, i) => Buffer.concat([
      Buffer.from(`${lines.map((l) => (l === 'connection: close' && i < ids.length - 1 ? 'connection: keep-alive' : l)).join('\r\n')}\r\nx-request-id: ${id}\r\n\r\n`), payload]));
    return { text: Buffer.concat(copies), method, description, pipelined: ids };
  }
  const text = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), payload]);
  return { text, method, description, ...(statuses === undefined ? {} : { statuses }), ...(forbid === undefined ? {} : { forbid }) };
});

export interface RawAnswer {
  status: number | undefined;
  headers: Record<string, string>;
  body: string;
  ms: number;
  closed: boolean;
  /** The x-request-id of every final answer that could be parsed, in order ('' for none: Node's own 400 to a request it could not parse). */
  ids: string[];
}

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
      const all = Buffer.concat(chunks);
      // 100 Continue comes before the answer; the answer is what is checked.
      let raw = all.toString('latin1');
      while (/^HTTP\/1\.[01] 1\d\d /.test(raw) && raw.includes('\r\n\r\n')) raw = raw.slice(raw.indexOf('\r\n\r\n') + 4);
      const answers = parseResponses(all).responses.filter((r) => r.status >= 200);
      const ids = answers.map((r) => r.headers['x-request-id'] ?? '');
      const head = raw.split('\r\n\r\n')[0] ?? '';
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n').slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ status: status === undefined ? undefined : Number(status), headers, body: answers.length > 1 ? answers[0]!.body : raw.slice(head.length + 4), ms: performance.now() - started, closed, ids });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** checkAnswer returns what is wrong with an answer to a hostile request, or undefined. */
export function checkAnswer(a: RawAnswer, boundMs: number, req: Pick<HostileRequest, 'method' | 'statuses' | 'pipelined' | 'forbid'> = { method: 'GET' }): string | undefined {
  const method = req.method;
  if (a.ms > boundMs) return `answer took ${Math.round(a.ms)} ms`;
  if (a.status === undefined) return a.closed ? undefined : 'no answer and the connection stayed open';
  if (req.statuses !== undefined) {
    if (!req.statuses.includes(a.status)) return `status ${a.status}, expected ${req.statuses.join(' or ')}: ${a.body.slice(0, 120)}`;
    if (!a.closed) return `status ${a.status} and the connection stayed open`;
  }
  if (req.forbid?.test(a.body) === true) return `status ${a.status}: ${a.body.slice(0, 120)}`;
  if (req.pipelined !== undefined && method !== 'HEAD') {
    if (a.ids.length > req.pipelined.length) return `${a.ids.length} answers to ${req.pipelined.length} pipelined requests`;
    const order = a.ids.filter((id) => id !== '').map((id) => req.pipelined!.indexOf(id));
    if (order.some((k, i) => k < 0 || (i > 0 && k <= order[i - 1]!))) return `pipelined answers out of order: ${a.ids.join(', ')}`;
  }
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
