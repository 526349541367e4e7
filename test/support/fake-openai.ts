// fake-openai.ts (test support) — an OpenAI-compatible server written from the OpenAI API
// reference (https://platform.openai.com/docs/api-reference), as vLLM, TGI and llama.cpp serve
// it: chat completions and completions (whole, or streamed as server-sent events of chunk
// objects ending in `data: [DONE]`), embeddings, GET /v1/models, and OpenAI error objects. It
// answers `max_tokens` tokens ("t0 t1 …"), one every `intervalMs` when streaming, and records
// every request it got.

import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOpenaiRequest { path: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }

export interface FakeOpenai {
  url: string;
  /** The name this server serves its model under. */
  model: string;
  requests: FakeOpenaiRequest[];
  /** While set, completions and chat answer 500 with an OpenAI error object (an overloaded server). */
  failing: boolean;
  close(): Promise<void>;
}

export async function startFakeOpenai(opts: { model: string; intervalMs?: number; name?: string }): Promise<FakeOpenai> {
  const requests: FakeOpenaiRequest[] = [];
  const interval = opts.intervalMs ?? 5;
  const created = 1_700_000_000;
  const fake: FakeOpenai = {
    url: '', model: opts.model, requests, failing: false,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      if (req.method === 'GET' && path === '/v1/models') {
        json(res, 200, { object: 'list', data: [{ id: opts.model, object: 'model', created, owned_by: 'fake' }] });
        return;
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString() || 'null') as Record<string, unknown>;
        if (typeof body !== 'object' || body === null) throw new Error('not an object');
      } catch {
        error(res, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
        return;
      }
      requests.push({ path, headers: req.headers, body });
      if (body.model !== opts.model) { error(res, 404, `The model \`${String(body.model)}\` does not exist.`, 'invalid_request_error', 'model_not_found'); return; }
      const n = typeof body.max_tokens === 'number' ? body.max_tokens : 4;
      const tokens = Array.from({ length: n }, (_, i) => `t${i}${opts.name === undefined ? '' : `@${opts.name}`}`);
      const usage = { prompt_tokens: 3, completion_tokens: n, total_tokens: 3 + n };
      if (path === '/v1/embeddings') {
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        json(res, 200, { object: 'list', model: opts.model, data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [index, 0.5, -0.5] })), usage: { prompt_tokens: 3, total_tokens: 3 } });
        return;
      }
      const chat = path === '/v1/chat/completions';
      if (!chat && path !== '/v1/completions') { error(res, 404, `no route ${path}`, 'invalid_request_error'); return; }
      if (fake.failing) { error(res, 500, 'The server had an error while processing your request.', 'server_error'); return; }
      const id = chat ? 'chatcmpl-fake' : 'cmpl-fake';
      if (body.stream !== true) {
        const choice = chat
          ? { index: 0, message: { role: 'assistant', content: tokens.join(' ') }, finish_reason: 'length', logprobs: null }
          : { index: 0, text: tokens.join(' '), finish_reason: 'length', logprobs: null };
        json(res, 200, { id, object: chat ? 'chat.completion' : 'text_completion', created, model: opts.model, choices: [choice], usage });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const chunk = (choice: Record<string, unknown>): string =>
        `data: ${JSON.stringify({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model: opts.model, choices: [choice] })}\n\n`;
      if (chat) res.write(chunk({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));
      let i = 0;
      const tick = setInterval(() => {
        if (res.destroyed) { clearInterval(tick); return; }
        if (i < n) {
          const text = (i === 0 ? '' : ' ') + tokens[i]!;
          res.write(chunk(chat ? { index: 0, delta: { content: text }, finish_reason: null } : { index: 0, text, finish_reason: null }));
          i++;
          return;
        }
        clearInterval(tick);
        res.write(chunk(chat ? { index: 0, delta: {}, finish_reason: 'length' } : { index: 0, text: '', finish_reason: 'length' }));
        res.end('data: [DONE]\n\n');
      }, interval);
      res.once('close', () => clearInterval(tick));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

function json(res: ServerResponse, status: number, doc: unknown): void {
  const body = JSON.stringify(doc);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }).end(body);
}

function error(res: ServerResponse, status: number, message: string, type: string, code: string | null = null): void {
  json(res, status, { error: { message, type, param: null, code } });
}
