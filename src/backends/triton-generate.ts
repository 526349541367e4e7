// triton-generate.ts — Triton's generate extension, passed through: KServe generate and
// generate_stream requests go to Triton as they came (it has the extension itself: TensorRT-LLM,
// the vLLM backend), and its answer or events come back as it sent them.
// https://github.com/triton-inference-server/server/blob/main/docs/protocol/extension_generate.md

import { GatewayError } from '../errors.ts';
import type { InferRequest, InferResponse } from '../tensors/tensor.ts';
import type { CallContext } from '../types.ts';
import { headerOf, type ServerAnswer, type ServerLink } from './shared/link.ts';
import { type StreamLabels, watchStream } from './shared/stream-watch.ts';
import { tokenMeter } from './shared/token-meter.ts';

// generate passes a KServe generate request to Triton's own extension, and its answer back: the
// events of generate_stream as they come (gaps bounded by idleMs), or the one JSON object;
// `failure` maps Triton's refusals as its tensor calls do.
export async function generate(link: ServerLink, base: string, where: string, payload: NonNullable<InferRequest['payload']>, ctx: CallContext,
  labels: StreamLabels, idleMs: number, failure: (answer: ServerAnswer) => GatewayError): Promise<InferResponse> {
  const path = payload.path;
  if (path !== 'generate' && path !== 'generate_stream') throw new GatewayError('bad_request', `${where} takes tensors or rows, or a generate request; not a raw body`);
  const stream = path === 'generate_stream';
  const started = performance.now();
  const answer = await link.exchange({
    method: 'POST', path: `${base}/${path}`, body: payload.body, ctx,
    headers: { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' },
    streamWhen: () => stream,
  }, (a) => {
    if (a.status !== 200) throw failure(a);
    const contentType = headerOf(a, 'content-type') ?? (stream ? 'text/event-stream' : 'application/json');
    if (a.stream !== undefined) return { kind: 'stream' as const, body: watchStream(a.stream, idleMs, labels, where, tokenMeter(labels, started)), contentType };
    return { kind: 'bytes' as const, body: a.body, contentType };
  });
  return { answer };
}

