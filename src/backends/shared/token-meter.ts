// token-meter.ts — what LLM operators watch, read off an OpenAI-style event stream as it passes:
// time to first token, the gap between tokens, and tokens out. Each `data:` event whose chunk
// carries text (a chat delta's content, a completion's text) counts as one token, as vLLM, TGI
// and llama.cpp send one token per chunk. It looks for the text field in each event's bytes
// rather than parsing it: at thousands of tokens a second, JSON.parse per token was the cost.

import { interTokenLatency, timeToFirstToken, tokensOut } from '../../observe/metrics.ts';
import type { ChunkMeter, StreamLabels } from './stream-watch.ts';

/** tokenMeter times the tokens of one stream; `started` is the call's start (performance.now()). */
export function tokenMeter(labels: StreamLabels, started: number): ChunkMeter {
  let pending = '';
  let last: number | undefined;
  let tokens = 0;
  return {
    chunk(data, now) {
      pending += data.toString('utf8');
      // Events end at a blank line; an event cut by a chunk boundary waits for the rest.
      let from = 0;
      for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n', from)) {
        if (carriesText(pending, from, end)) {
          tokens++;
          if (last === undefined) timeToFirstToken.observe(labels, (now - started) / 1000);
          else interTokenLatency.observe(labels, (now - last) / 1000);
          last = now;
        }
        from = end + 2;
      }
      pending = pending.slice(from);
      // A stream that is not SSE never meets a blank line: keep no more than one event's worth.
      if (pending.length > 1 << 20) pending = '';
    },
    end() {
      if (tokens > 0) tokensOut.inc(labels, tokens);
    },
  };
}

// carriesText says whether the event in text[from, end) has a non-empty "content" or "text"
// string: a chat delta's or a completion's token.
function carriesText(text: string, from: number, end: number): boolean {
  for (const key of ['"content":"', '"text":"']) {
    const at = text.indexOf(key, from);
    if (at >= 0 && at < end && text.charCodeAt(at + key.length) !== 34 /* " */) return true;
  }
  return false;
}
