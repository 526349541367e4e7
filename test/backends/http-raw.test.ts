// Raw payloads on the platform predict routes (Vertex rawPredict style), through the real
// gateway: with `raw: true` an http backend gets a body that is not {"instances"} JSON as it
// came — an image, an OpenAI chat body — and its answer goes back as it came; rows still take
// the rows path (and its batcher). Without `raw`, the same bodies are refused as before.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

interface Seen { headers: IncomingHttpHeaders; body: Buffer; path: string }

describe('http backend with raw: true behind the platform routes', () => {
  let gw: RunningGateway;
  let server: Server;
  const seen: Seen[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ headers: req.headers, body, path: req.url ?? '' });
        if (req.method === 'GET') { res.end('ok'); return; }
        if (req.headers['content-type']?.startsWith('application/json') && body.includes('"instances"')) {
          const { instances } = JSON.parse(body.toString()) as { instances: number[][] };
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ predictions: instances.map((r) => r.reduce((a, b) => a + b, 0)) }));
          return;
        }
        if (body.toString() === 'fail') { res.statusCode = 500; res.end('{"error": "the model broke"}'); return; }
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end(`got ${body.length} bytes of ${req.headers['content-type']}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    gw = await startGateway(`
frontends: { vertex: { model: llm }, sagemaker: { model: llm }, oci: { model: strict, predictRoute: /oci/predict, healthRoute: /oci/health } }
backends:
  raw: { type: http, url: ${url}, raw: true }
  plain: { type: http, url: ${url} }
models:
  llm: { targets: [ { backend: raw } ], batching: { maxBatchSize: 8, maxQueueDelayMs: 5 } }
  strict: { targets: [ { backend: plain } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await new Promise((r) => server?.close(r));
  });

  it('sends an OpenAI chat body on Vertex predict unchanged, and answers what the server answered', async () => {
    const chat = JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: chat, headers: { 'content-type': 'application/json', accept: 'text/plain' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await res.text(), `got ${chat.length} bytes of application/json`);
    const last = seen.at(-1)!;
    assert.equal(last.body.toString(), chat);
    assert.equal(last.headers.accept, 'text/plain');
    assert.equal(last.path, '/predict');
  });

  it('sends image bytes on SageMaker /invocations with their content type', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const res = await fetch(`${gw.url}/invocations`, { method: 'POST', body: png, headers: { 'content-type': 'image/png' } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'got 11 bytes of image/png');
    assert.deepEqual(seen.at(-1)!.body, png);
  });

  it('still answers rows as rows (through the batcher)', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"instances": [[1, 2], [3, 4]]}', headers: { 'content-type': 'application/json' } });
    assert.deepEqual(await res.json(), { predictions: [3, 7] });
  });

  it('a server error on a raw body is a 502 saying what the server said', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: 'fail', headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.status, 502);
    assert.match((await res.json() as { error: string }).error, /the model broke/);
  });

  it('without raw, a body that is not rows is refused as before (415, 400)', async () => {
    const img = await fetch(`${gw.url}/oci/predict`, { method: 'POST', body: Buffer.from([1, 2, 3]), headers: { 'content-type': 'image/png', model_name: 'strict' } });
    assert.equal(img.status, 415);
    const chat = await fetch(`${gw.url}/oci/predict`, { method: 'POST', body: '{"messages": []}', headers: { 'content-type': 'application/json', model_name: 'strict' } });
    assert.equal(chat.status, 400);
  });
});

describe('Vertex invoke routes (invokeRoutePrefix "/*")', () => {
  let gw: RunningGateway;
  let server: Server;
  const seen: Seen[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks), path: req.url ?? '' });
        if (req.url === '/health') { res.end('ok'); return; }
        // A streamed answer, as an LLM server sends one.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: {"n":1}\n\n');
        setTimeout(() => res.end('data: [DONE]\n\n'), 20);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    gw = await startGateway(`
frontends: { vertex: { model: m, invokeBackend: llm } }
backends: { llm: { type: http, url: ${url} } }
models: { m: { targets: [ { backend: llm } ] } }
`);
  });
  after(async () => {
    await gw?.stop();
    await new Promise((r) => server?.close(r));
  });

  it('serves /invoke/foo/bar as the backend\'s /foo/bar, any method, the answer streamed through', async () => {
    const res = await fetch(`${gw.url}/invoke/v1/chat/completions`, { method: 'POST', body: '{"stream": true}', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(await res.text(), 'data: {"n":1}\n\ndata: [DONE]\n\n');
    assert.equal(seen.at(-1)!.path, '/v1/chat/completions');
    assert.equal(seen.at(-1)!.body.toString(), '{"stream": true}');
    const get = await fetch(`${gw.url}/invoke/v1/models?limit=2`);
    assert.equal(get.status, 200);
    assert.equal(seen.at(-1)!.path, '/v1/models?limit=2');
  });

  it('refuses an invokeBackend that cannot stream, naming it, at start', async () => {
    const dead = await startGateway(`
frontends: { vertex: { model: m, invokeBackend: nowhere } }
backends: { llm: { type: http, url: http://127.0.0.1:9 } }
models: { m: { targets: [ { backend: llm } ] } }
`, { waitReady: false }).then(async (g) => { await g.stop(); return undefined; }, (err: Error) => err);
    assert.match(String(dead?.message), /frontends\.vertex\.invokeBackend: unknown backend \\?"nowhere/);
  });
});
