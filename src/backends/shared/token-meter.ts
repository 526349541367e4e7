// token-meter.ts — what LLM operators watch, read off an OpenAI-style event stream as it passes:
// time to first token, the gap between tokens, and tokens out. Each `data:` event whose chunk
// carries text (a chat delta's content, a completion's text) counts as one token, as vLLM, TGI
// and llama.cpp send one token per chunk. The bytes pass on unchanged.

import { Transform } from 'node:stream';
import { interTokenLatency, timeToFirstToken, tokensOut } from '../../observe/metrics.ts';
import type { StreamLabels } from './stream-watch.ts';

/** tokenMeter gives a pass-through that times the tokens of one stream; `started` is the call's start (performance.now()). */
export function tokenMeter(labels: StreamLabels, started: number): Transform {
  let pending = '';
  let last: number | undefined;
  let tokens = 0;
  const seen = (now: number): void => {
    tokens++;
    if (last === undefined) timeToFirstToken.observe(labels, (now - started) / 1000);
    else interTokenLatency.observe(labels, (now - last) / 1000);
    last = now;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      pending += chunk.toString('utf8');
      // Events end at a blank line; an event cut by a chunk boundary waits for the rest.
      let end = pending.indexOf('\n\n');
      while (end >= 0) {
        if (carriesText(pending.slice(0, end))) seen(performance.now());
        pending = pending.slice(end + 2);
        end = pending.indexOf('\n\n');
      }
      // A stream that is not SSE never meets a blank line: keep no more than one event's worth.
      if (pending.length > 1 << 20) pending = '';
      done(null, chunk);
    },
    flush(done) {
      if (tokens > 0) tokensOut.inc(labels, tokens);
      done();
    },
  });
}

// carriesText says whether one event's data is a chunk with text in it.
function carriesText(event: string): boolean {
  const at = event.indexOf('data:');
  if (at < 0) return false;
  const data = event.slice(at + 5).trim();
  if (data === '' || data === '[DONE]') return false;
  try {
    const choices = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: unknown }; text?: unknown }> }).choices;
    const c = choices?.[0];
    const text = c?.delta?.content ?? c?.text;
    return typeof text === 'string' && text !== '';
  } catch {
    return false;
  }
}
