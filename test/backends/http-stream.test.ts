// Streamed answers through the platform predict routes (http backend with raw: true), through
// the real gateway: relayed chunk by chunk, the deadline covering only the first byte, the gap
// between chunks bounded (rawTimeoutMs), a client that leaves aborting the server's call, and a
// slow reader pausing the server instead of the gateway buffering its stream.
import assert from 'node:assert/strict';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.ts';
import { waitFor } from '../support/wait-for.ts';

// The server's behaviour is chosen per request by the body's "mode".
interface Control { next?: () => void; closed: number; written: number; flaky?: number }

describe('streamed answers on the platform routes', () => {
  let gw: RunningGateway;
  let server: Server;
  const control: Control = { closed: 0, written: 0 };
  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'GET') { res.end('ok'); return; }
        const { mode } = JSON.parse(Buffer.concat(chunks).toString()) as { mode: string };
        res.once('close', () => { if (!res.writableFinished) control.closed++; });
        serve(mode, res, control);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    gw = await startGateway(`
frontends: { vertex: { model: llm }, oci: { model: guarded, predictRoute: /oci/predict, healthRoute: /oci/health } }
backends: { llm: { type: http, url: ${url}, raw: true, rawTimeoutMs: 400ms } }
models:
  llm: { timeoutMs: 600ms, targets: [ { backend: llm } ] }
  guarded:
    timeoutMs: 600ms
    targets: [ { backend: llm } ]
    retry: { attempts: 1, budgetPercent: 100 }
    breaker: { volumeThreshold: 3, errorThresholdPercentage: 50, resetTimeoutMs: 30s }
`);
  });
  after(async () => {
    await gw?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const ask = (mode: string, signal?: AbortSignal): Promise<Response> =>
    fetch(`${gw.url}/predict`, { method: 'POST', body: JSON.stringify({ mode }), headers: { 'content-type': 'application/json' }, ...(signal === undefined ? {} : { signal }) });
  // The model with retry and a breaker, on OCI's route.
  const askGuarded = (mode: string): Promise<Response> =>
    fetch(`${gw.url}/oci/predict`, { method: 'POST', body: JSON.stringify({ mode }), headers: { 'content-type': 'application/json' } });
  const readChunk = async (reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> => {
    const { value, done } = await reader.read();
    return done ? '' : Buffer.from(value).toString();
  };

  it('relays server-sent events as they come: the first arrives before the server writes the second', async () => {
    const res = await ask('sse-stepped');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    assert.equal(await readChunk(reader), 'data: {"token":"a"}\n\n');
    control.next!(); // only now does the server write the rest
    let rest = '';
    for (let s = await readChunk(reader); s !== ''; s = await readChunk(reader)) rest += s;
    assert.equal(rest, 'data: {"token":"b"}\n\ndata: [DONE]\n\n');
  });

  it('the deadline covers the time to the first byte: a server slower than timeoutMs is a 504 JSON answer', async () => {
    const res = await ask('slow-headers');
    assert.equal(res.status, 504);
    assert.equal((await res.json() as { code: string }).code, 'deadline_exceeded');
  });

  it('a stream may last longer than the deadline while bytes keep coming', async () => {
    const res = await ask('sse-long'); // 5 events 250 ms apart: 1.25 s against a 600 ms deadline
    const text = await res.text();
    assert.equal(text.split('\n\n').filter((e) => e.startsWith('data:')).length, 5);
  });

  it('a gap longer than rawTimeoutMs ends an event stream with an error event', async () => {
    const res = await ask('sse-stall');
    const text = await res.text();
    assert.match(text, /^data: {"token":"a"}\n\nevent: error\ndata: {"error":"backend \\"llm\\" sent no byte for 400 ms; the stream was ended","code":"deadline_exceeded"}\n\n$/);
  });

  it('a gap longer than rawTimeoutMs cuts a chunked body, so the client sees it incomplete', async () => {
    const res = await ask('chunked-stall');
    assert.equal(res.status, 200);
    await assert.rejects(res.text());
  });

  it('a client that leaves mid-stream aborts the server\'s call', async () => {
    const before = control.closed;
    const gone = new AbortController();
    const res = await ask('sse-forever', gone.signal);
    const reader = res.body!.getReader();
    assert.match(await readChunk(reader), /^data: /);
    gone.abort();
    await waitFor(async () => control.closed > before, 5_000);
  });

  it('a slow reader pauses the server: the gateway does not buffer its stream', async () => {
    const res = await ask('flood'); // the server writes 64 MB as fast as the socket lets it
    const reader = res.body!.getReader();
    await readChunk(reader);
    await new Promise((r) => setTimeout(r, 300)); // not reading
    const writtenWhilePaused = control.written;
    assert.ok(writtenWhilePaused < 24 * 1024 * 1024, `the server got ${writtenWhilePaused} bytes out while the client read nothing`);
    let total = 0;
    for (let { value, done } = await reader.read(); !done; { value, done } = await reader.read()) total += value!.length;
    assert.ok(total > 60 * 1024 * 1024, `read ${total}`);
  });

  it('a refusal before the first byte is retried; the stream then comes from the second attempt', async () => {
    const before = control.flaky ?? 0;
    const res = await askGuarded('flaky');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'data: {"attempt":2}\n\n');
    assert.equal((control.flaky ?? 0) - before, 2);
  });

  it('failures before the first byte open the breaker', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 10 && !seen.includes('circuit_open'); i++) seen.push((await (await askGuarded('fail500')).json() as { code: string }).code);
    assert.ok(seen.includes('backend_error') && seen.at(-1) === 'circuit_open', seen.join(', '));
    const open = await askGuarded('sse-stepped');
    assert.equal(open.status, 503, 'the open breaker refuses the stream too');
    assert.equal((await open.json() as { code: string }).code, 'circuit_open');
  });

  it('counts streamed bytes and durations in /metrics', async () => {
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(text, /infergate_stream_bytes_total\{backend="llm",target="llm\/llm"\} [1-9]/);
    assert.match(text, /infergate_stream_duration_seconds_count\{backend="llm",target="llm\/llm",outcome="error"\} [1-9]/);
  });
});

function serve(mode: string, res: ServerResponse, control: Control): void {
  const sse = (): void => { res.writeHead(200, { 'content-type': 'text/event-stream' }); };
  switch (mode) {
    case 'sse-stepped':
      sse();
      res.write('data: {"token":"a"}\n\n');
      control.next = () => res.end('data: {"token":"b"}\n\ndata: [DONE]\n\n');
      return;
    case 'slow-headers':
      setTimeout(() => { if (!res.destroyed) { sse(); res.end('data: late\n\n'); } }, 1500);
      return;
    case 'sse-long': {
      sse();
      let n = 0;
      const tick = setInterval(() => {
        res.write(`data: {"n":${n++}}\n\n`);
        if (n === 5) { clearInterval(tick); res.end(); }
      }, 250);
      return;
    }
    case 'sse-stall':
      sse();
      res.write('data: {"token":"a"}\n\n');
      return; // never more
    case 'chunked-stall':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write('part one');
      return;
    case 'sse-forever': {
      sse();
      const tick = setInterval(() => res.write('data: {"token":"x"}\n\n'), 50);
      res.once('close', () => clearInterval(tick));
      res.write('data: {"token":"x"}\n\n');
      return;
    }
    case 'flood': {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      control.written = 0;
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = (): void => {
        while (control.written < 64 * 1024 * 1024) {
          control.written += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end();
      };
      pump();
      return;
    }
    case 'flaky':
      control.flaky = (control.flaky ?? 0) + 1;
      if (control.flaky % 2 === 1) { res.writeHead(503, { 'content-type': 'application/json' }); res.end('{"error": "warming up"}'); return; }
      sse();
      res.end('data: {"attempt":2}\n\n');
      return;
    case 'fail500':
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"error": "the model broke"}');
      return;
    default:
      res.statusCode = 400;
      res.end('unknown mode');
  }
}

describe('a stream still open when the drain time is up', () => {
  it('is ended with an error event the client reads, and the gateway exits 0', async () => {
    const control: Control = { closed: 0, written: 0 };
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'GET') { res.end('ok'); return; }
        serve('sse-forever', res, control);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const gw = await startGateway(`
server: { drainSeconds: 1, drainDelaySeconds: 0 }
frontends: { vertex: { model: llm } }
backends: { llm: { type: http, url: http://127.0.0.1:${(server.address() as AddressInfo).port}, raw: true } }
models: { llm: { targets: [ { backend: llm } ] } }
`);
    try {
      const res = await fetch(`${gw.url}/predict`, { method: 'POST', body: '{"mode": "sse-forever"}', headers: { 'content-type': 'application/json' } });
      const reader = res.body!.getReader();
      await reader.read();
      const exited = new Promise<number | null>((r) => gw.process.once('exit', (code) => r(code)));
      gw.process.kill('SIGTERM');
      let text = '';
      for (let { value, done } = await reader.read(); !done; { value, done } = await reader.read()) text += Buffer.from(value!).toString();
      assert.match(text, /event: error\ndata: {"error":"the gateway is shutting down; this stream was ended before it finished","code":"draining"}\n\n$/);
      assert.equal(await exited, 0);
    } finally {
      await gw.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
