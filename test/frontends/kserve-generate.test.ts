// The KServe generate extension passed through to Triton, which has it (TensorRT-LLM, the vLLM
// backend), through the real gateway against a fake Triton written from
// server/docs/protocol/extension_generate.md (Triton itself cannot run here): the request goes on
// unchanged, generate answers Triton's object, generate_stream relays Triton's events as they
// come, and Triton's own errors come back with its words.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeTriton, type FakeTriton } from '../support/fake-triton.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

describe('KServe generate passed through to Triton', () => {
  let gw: RunningGateway;
  let triton: FakeTriton;
  before(async () => {
    triton = await startFakeTriton();
    gw = await startGateway(`
frontends: { kserve: { v1: false } }
backends:
  trt: { type: triton, url: ${triton.url} }
models:
  llm: { targets: [ { backend: trt } ] }
  linear: { targets: [ { backend: trt } ] }
`);
  });
  after(async () => {
    await gw?.stop();
    await triton?.close();
  });
  const post = (path: string, body: string) => fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('sends the request to Triton as it came and answers Triton\'s generate response', async () => {
    const sent = JSON.stringify({ text_input: 'hello', parameters: { max_tokens: 2, temperature: 0 }, custom_tensor: 'x' });
    const res = await post('/v2/models/llm/generate', sent);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { model_name: 'llm', model_version: '1', text_output: 'w0 w1' });
    const call = triton.calls.at(-1)!;
    assert.equal(call.url, '/v2/models/llm/generate');
    assert.equal(call.body.toString(), sent, 'the body goes on byte for byte');
  });

  it('relays generate_stream events one by one, as Triton sends them, and counts the tokens', async () => {
    triton.tokenGapMs = 300;
    try {
      const res = await post('/v2/models/llm/generate_stream', JSON.stringify({ text_input: 'hi', parameters: { max_tokens: 3 } }));
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      // Triton waits 300 ms before its second event: a buffering gateway would hold the first.
      assert.equal(first, 'data: {"model_name":"llm","model_version":"1","text_output":"w0"}\n\n');
      let rest = '';
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
      const events = (first + rest).split('\n\n').filter((e) => e !== '').map((e) => (JSON.parse(e.slice('data: '.length)) as { text_output: string }).text_output);
      assert.deepEqual(events, ['w0', ' w1', ' w2']);
    } finally {
      triton.tokenGapMs = 5;
    }
    const metrics = await (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.match(metrics, /infergate_tokens_out_total\{backend="trt",[^}]*\} [1-9]/);
  });

  it('answers Triton\'s own refusal with its status and message, and refuses a body that is not an object before calling it', async () => {
    const refused = await post('/v2/models/llm/generate', JSON.stringify({ prompt: 'no text_input' }));
    assert.equal(refused.status, 400);
    assert.match((await refused.json() as { error: string }).error, /input 'text_input' is missing/);
    const before = triton.calls.length;
    const bad = await post('/v2/models/llm/generate_stream', '[1, 2]');
    assert.equal(bad.status, 400);
    assert.match((await bad.json() as { error: string }).error, /the request body is an array/);
    assert.equal(triton.calls.length, before, 'Triton was not called');
  });

  it('keeps the tensor path of the same backend: infer on another model still works', async () => {
    const res = await post('/v2/models/linear/infer', JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }));
    assert.equal(res.status, 200);
    assert.deepEqual((await res.json() as { outputs: Array<{ shape: number[] }> }).outputs[0]!.shape, [1, 2]);
  });
});
