// The OpenAI API in front and OpenAI-compatible servers behind, through the real gateway,
// driven by the official `openai` npm client (baseURL pointed at the gateway) against a
// protocol-faithful fake (test/support/fake-openai.ts): chat, streamed chat, completions,
// embeddings, the model list, OpenAI error objects, aliases, sticky routing across two servers,
// and an OpenAI body on the Vertex predict route. vLLM, TGI and llama.cpp themselves cannot run
// here; the fake is written from the OpenAI API reference.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import OpenAI, { NotFoundError, BadRequestError } from 'openai';
import { startFakeOpenai, type FakeOpenai } from '../support/fake-openai.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const mainFile = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

describe('OpenAI API through the gateway', () => {
  const tokensCounted = async (): Promise<number> => {
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    const m = /infergate_tokens_out_total\{backend="vllm-a",[^}]*\} (\d+)/.exec(text);
    return m === null ? 0 : Number(m[1]);
  };
  let gw: RunningGateway;
  let a: FakeOpenai;
  let b: FakeOpenai;
  let client: OpenAI;
  before(async () => {
    a = await startFakeOpenai({ model: 'meta-llama/Llama-3.1-8B-Instruct', name: 'a' });
    b = await startFakeOpenai({ model: 'meta-llama/Llama-3.1-8B-Instruct', name: 'b' });
    gw = await startGateway(`
frontends:
  openai: { aliases: { "meta-llama/Llama-3.1-8B-Instruct": llama } }
  vertex: { model: llama }
  sagemaker: { model: solo }
  kserve: { v1: false }
  oci: { model: solo, predictRoute: /v1/oci/completions, healthRoute: /oci/health }
backends:
  vllm-a: { type: openai, url: ${a.url}, apiKey: server-secret }
  vllm-b: { type: openai, url: ${b.url} }
  rows: { type: http, url: ${a.url} }
models:
  llama:
    targets:
      - { backend: vllm-a, model: "meta-llama/Llama-3.1-8B-Instruct", weight: 50, name: a }
      - { backend: vllm-b, model: "meta-llama/Llama-3.1-8B-Instruct", weight: 50, name: b }
    sticky: { header: x-session-id }
  solo:
    targets: [ { backend: vllm-a, model: "meta-llama/Llama-3.1-8B-Instruct" } ]
  rows: { targets: [ { backend: rows } ] }
  misnamed:
    targets: [ { backend: vllm-a, model: not-served-there } ]
  batched:
    targets: [ { backend: vllm-a, model: "meta-llama/Llama-3.1-8B-Instruct" } ]
    batching: { maxBatchSize: 8, maxQueueDelayMs: 200 }
`);
    client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'client-key', maxRetries: 0 });
  });
  after(async () => {
    await gw?.stop();
    await a?.close();
    await b?.close();
  });

  it('answers a chat completion, naming the server\'s model to the server and never passing the client\'s key on', async () => {
    const done = await client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3 });
    assert.equal(done.object, 'chat.completion');
    assert.equal(done.choices[0]!.message.content, 't0@a t1@a t2@a');
    const seen = a.requests.at(-1)!;
    assert.equal(seen.path, '/v1/chat/completions');
    assert.equal(seen.body.model, 'meta-llama/Llama-3.1-8B-Instruct');
    assert.equal(seen.headers.authorization, 'Bearer server-secret');
  });

  it('streams a chat completion chunk by chunk', async () => {
    const stream = await client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    assert.equal(text, 't0@a t1@a t2@a t3@a t4@a');
    assert.ok(chunks >= 6, `${chunks} chunks`);
  });

  it('answers completions (whole and streamed) and embeddings', async () => {
    const whole = await client.completions.create({ model: 'solo', prompt: 'say', max_tokens: 2 });
    assert.equal(whole.choices[0]!.text, 't0@a t1@a');
    let streamed = '';
    for await (const c of await client.completions.create({ model: 'solo', prompt: 'say', max_tokens: 3, stream: true })) streamed += c.choices[0]?.text ?? '';
    assert.equal(streamed, 't0@a t1@a t2@a');
    const emb = await client.embeddings.create({ model: 'solo', input: ['x', 'y'] });
    assert.deepEqual(emb.data.map((d) => d.index), [0, 1]);
    assert.equal(a.requests.at(-1)!.path, '/v1/embeddings');
  });

  it('counts time to first token, inter-token latency and tokens out for streams', async () => {
    const before = await tokensCounted();
    for await (const _ of await client.chat.completions.create({ model: 'solo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true })) { /* read it all */ }
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await tokensCounted()) - before, 4, 'one per chunk with text; the role and final chunks carry none');
    const text = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(text, /infergate_time_to_first_token_seconds_count\{backend="vllm-a",target="vllm-a\/meta-llama\/Llama-3.1-8B-Instruct"\} [1-9]/);
    assert.match(text, /infergate_inter_token_latency_seconds_count\{backend="vllm-a",[^}]*\} [1-9]/);
  });

  it('batches embeddings: two requests merge into one server call, and each gets its own answers back by index', async () => {
    const before = a.requests.length;
    const [first, second] = await Promise.all([
      client.embeddings.create({ model: 'batched', input: ['a1', 'a2'], encoding_format: 'float' }),
      client.embeddings.create({ model: 'batched', input: ['b1', 'b2'], encoding_format: 'float' }),
    ]);
    const calls = a.requests.slice(before);
    assert.equal(calls.length, 1, 'one merged call');
    const merged = calls[0]!.body.input as string[];
    assert.deepEqual([...merged].sort(), ['a1', 'a2', 'b1', 'b2']);
    // The fake embeds merged input i as [i, 0.5, -0.5]: each client gets the embeddings of its
    // own inputs, in its order, renumbered from 0.
    assert.deepEqual(first.data.map((d) => [d.index, d.embedding[0]]), [[0, merged.indexOf('a1')], [1, merged.indexOf('a2')]]);
    assert.deepEqual(second.data.map((d) => [d.index, d.embedding[0]]), [[0, merged.indexOf('b1')], [1, merged.indexOf('b2')]]);
    // Different options do not share a call.
    const mixed = a.requests.length;
    await Promise.all([
      client.embeddings.create({ model: 'batched', input: 'x', encoding_format: 'float' }),
      client.embeddings.create({ model: 'batched', input: 'y', encoding_format: 'float', dimensions: 2 }),
    ]);
    assert.equal(a.requests.length - mixed, 2);
  });

  it('takes the server\'s own model name through an alias', async () => {
    const done = await client.chat.completions.create({ model: 'meta-llama/Llama-3.1-8B-Instruct', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
    assert.match(done.choices[0]!.message.content!, /^t0@[ab]$/);
  });

  it('lists the gateway\'s models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), ['batched', 'llama', 'misnamed', 'rows', 'solo']);
  });

  it('answers errors as OpenAI error objects the client reads: an unknown model is 404 model_not_found', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof NotFoundError && err.code === 'model_not_found' && /model "nope" is not served here/.test(err.message));
    await assert.rejects(client.chat.completions.create({ model: '', messages: [] }), (err: unknown) => err instanceof BadRequestError && /needs "model"/.test(err.message));
  });

  it('passes an OpenAI server\'s own error on with its status and message', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'misnamed', messages: [{ role: 'user', content: 'hi' }] }),
      (err: unknown) => err instanceof NotFoundError && /The model `not-served-there` does not exist/.test(err.message));
  });

  it('keeps a session on one server (sticky routing across LLM backends, for KV-cache reuse)', async () => {
    const servedBy = async (session: string): Promise<string> => {
      const done = await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }, { headers: { 'x-session-id': session } });
      return done.choices[0]!.message.content!.split('@')[1]!;
    };
    const seen = new Set<string>();
    for (let s = 0; s < 12; s++) {
      const first = await servedBy(`session-${s}`);
      assert.equal(await servedBy(`session-${s}`), first);
      assert.equal(await servedBy(`session-${s}`), first);
      seen.add(first);
    }
    assert.deepEqual([...seen].sort(), ['a', 'b'], 'sessions spread over both servers');
  });

  it('takes OpenAI bodies on SageMaker /invocations (streamed) and on an OCI predict route set to a completions path', async () => {
    const sm = await fetch(`${gw.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true }) });
    assert.equal(sm.headers.get('content-type'), 'text/event-stream');
    assert.match(await sm.text(), /"delta":\{"content":" t1@a"\}/);
    const oci = await fetch(`${gw.url}/v1/oci/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'say', max_tokens: 2 }) });
    assert.equal(oci.status, 200);
    assert.equal((await oci.json() as { choices: Array<{ text: string }> }).choices[0]!.text, 't0@a t1@a');
    assert.equal(a.requests.at(-1)!.path, '/v1/completions');
  });

  it('streams on OCI\'s predict route and on /predictWithResponseStream, chunk by chunk (MODEL_DEPLOY_ENABLE_STREAMING)', async () => {
    for (const path of ['/v1/oci/completions', '/predictWithResponseStream']) {
      const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'say', max_tokens: 3, stream: true }) });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), 'text/event-stream', path);
      assert.equal(res.headers.get('content-length'), null, `${path}: chunked, not buffered`);
      const text = await res.text();
      assert.equal([...text.matchAll(/"text":"( ?t\d@a)"/g)].map((m) => m[1]).join(''), 't0@a t1@a t2@a', path);
      assert.ok(text.endsWith('data: [DONE]\n\n'), path);
    }
  });

  it('answers the KServe generate extension from an OpenAI completion, whole and as generate_stream events', async () => {
    const res = await fetch(`${gw.url}/v2/models/solo/generate`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text_input: 'say', parameters: { max_tokens: 2, temperature: 0 }, unknown_knob: 1 }) });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { model_name: 'solo', model_version: '', text_output: 't0@a t1@a' });
    const sent = a.requests.at(-1)!;
    assert.equal(sent.path, '/v1/completions');
    assert.deepEqual(sent.body, { prompt: 'say', stream: false, max_tokens: 2, temperature: 0, model: 'meta-llama/Llama-3.1-8B-Instruct' });
    const stream = await fetch(`${gw.url}/v2/models/solo/generate_stream`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text_input: 'say', max_tokens: 3 }) });
    assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const events = (await stream.text()).split('\n\n').filter((e) => e !== '').map((e) => JSON.parse(e.replace(/^data: /, '')) as { text_output: string });
    assert.deepEqual(events.map((e) => e.text_output).join(''), 't0@a t1@a t2@a');
  });

  it('refuses generate without "text_input", or for a model that does not speak OpenAI, with a 400 saying why', async () => {
    const bad = await fetch(`${gw.url}/v2/models/solo/generate`, { method: 'POST', body: '{"prompt": "x"}', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.match((await bad.json() as { error: string }).error, /"text_input" must be a string/);
    const rows = await fetch(`${gw.url}/v2/models/rows/generate`, { method: 'POST', body: '{"text_input": "x"}', headers: { 'content-type': 'application/json' } });
    assert.equal(rows.status, 400);
    assert.match((await rows.json() as { error: string }).error, /served by neither an OpenAI-compatible backend \(type: openai\).* nor Triton/);
  });

  it('serves the official client, streamed and whole, on each platform route (its requests sent to the platform\'s path)', async () => {
    // What a platform SDK does for the client: the same body, posted to the route the platform calls.
    const onRoute = (route: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0,
      fetch: (url, init) => fetch(String(url).replace(/\/v1\/(chat\/)?completions$/, route), init) });
    for (const route of ['/predict', '/invocations', '/predictWithResponseStream']) {
      const platform = onRoute(route);
      const stream = await platform.chat.completions.create({ model: 'ignored-by-the-route', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      assert.match(text, /^t0@[ab] t1@[ab] t2@[ab]$/, route);
      const whole = await platform.completions.create({ model: 'ignored-by-the-route', prompt: 'say', max_tokens: 2 });
      assert.match(whole.choices[0]!.text, /^t0@[ab] t1@[ab]$/, route);
    }
  });

  it('takes an OpenAI body on the Vertex predict route (vLLM\'s Vertex mode), streamed too', async () => {
    const res = await fetch(`${gw.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true }) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const text = await res.text();
    assert.match(text, /"delta":\{"content":"t0@[ab]"\}/);
    assert.ok(text.endsWith('data: [DONE]\n\n'));
  });
});

describe('canary rollback across OpenAI-compatible servers', () => {
  let gw: RunningGateway;
  let stable: FakeOpenai;
  let canary: FakeOpenai;
  before(async () => {
    stable = await startFakeOpenai({ model: 'llama-8b', name: 'stable' });
    canary = await startFakeOpenai({ model: 'llama-8b-v2', name: 'canary' });
    gw = await startGateway(`
frontends: { openai: {} }
backends:
  vllm: { type: openai, url: ${stable.url} }
  vllm-next: { type: openai, url: ${canary.url} }
models:
  chat:
    targets:
      - { backend: vllm, model: llama-8b, weight: 50, name: stable }
      - { backend: vllm-next, model: llama-8b-v2, weight: 50, name: canary }
    rollback: { canary: canary, minRequests: 5, maxErrorRateRatio: 2 }
`);
  });
  after(async () => {
    await gw?.stop();
    await stable?.close();
    await canary?.close();
  });

  it('drops a failing LLM canary\'s weight to 0, and then serves every stream from the stable server', async () => {
    canary.failing = true;
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'k', maxRetries: 0 });
    let failed = 0;
    for (let i = 0; i < 30; i++) {
      try {
        await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 });
      } catch (err) {
        assert.ok(err instanceof OpenAI.APIError, String(err));
        failed++;
      }
    }
    assert.ok(failed > 0 && failed < 30, `the canary failed some calls (${failed}) before it was rolled back`);
    const status = JSON.stringify(await (await fetch(`${gw.adminUrl}/admin/status`)).json());
    assert.match(status, /"canary":"canary","primary":"stable","state":"rolledBack"/);
    const before = canary.requests.length;
    for (let i = 0; i < 6; i++) {
      const stream = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, stream: true });
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      assert.equal(text, 't0@stable t1@stable');
    }
    assert.equal(canary.requests.length, before, 'nothing more reached the canary');
    assert.match(await (await fetch(`${gw.adminUrl}/metrics`)).text(), /infergate_rollbacks_total\{[^}]*model="chat"[^}]*\} 1/);
  });
});

describe('frontends.openai config', () => {
  const check = (yaml: string): { status: number | null; stderr: string } => {
    const dir = mkdtempSync(join(tmpdir(), 'openai-check-'));
    try {
      writeFileSync(join(dir, 'config.yaml'), yaml);
      const out = spawnSync(process.execPath, [mainFile, 'check', join(dir, 'config.yaml')], { encoding: 'utf8' });
      return { status: out.status, stderr: out.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const base = 'backends: { llm: { type: openai, url: http://127.0.0.1:9 } }\nmodels: { llama: { targets: [ { backend: llm } ] } }\n';

  it('refuses an alias that names no configured model', () => {
    const out = check(`${base}frontends: { openai: { aliases: { "org/Model-7B": nope } } }\n`);
    assert.equal(out.status, 1);
    assert.match(out.stderr, /frontends\.openai\.aliases: "org\/Model-7B" names model "nope", which is not configured/);
  });

  it('with KServe v1 on, GET /v1/models is claimed twice unless listModels is off', () => {
    const both = check(`${base}frontends: { openai: {}, kserve: {} }\n`);
    assert.equal(both.status, 1);
    assert.match(both.stderr, /GET \/v1\/models is claimed by both/);
    assert.equal(check(`${base}frontends: { openai: { listModels: false }, kserve: {} }\n`).status, 0);
  });
});
