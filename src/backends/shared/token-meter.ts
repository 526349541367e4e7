// token-meter.ts — what LLM operators watch, read off an OpenAI-style event stream as it passes:
// time to first token, the gap between tokens, and tokens out. Each `data:` event whose chunk
// carries text (a chat delta's content, a completion's text) counts as one token, as vLLM, TGI
// and llama.cpp send one token per chunk. It looks for the text field in each event's bytes
// rather than parsing it: at thousands of tokens a second, JSON.parse per token was the cost.

import { SseReader } from '../../codecs/sse.ts';
import { interTokenLatency, timeToFirstToken, tokensOut } from '../../observe/metrics.ts';
import type { ChunkMeter, StreamLabels } from './stream-watch.ts';

/** tokenMeter times the tokens of one stream; `started` is the call's start (performance.now()). */
export function tokenMeter(labels: StreamLabels, started: number): ChunkMeter {
  const events = new SseReader();
  let last: number | undefined;
  let tokens = 0;
  return {
    chunk(data, now) {
      for (const event of events.push(data)) {
        if (!carriesText(event)) continue;
        tokens++;
        if (last === undefined) timeToFirstToken.observe(labels, (now - started) / 1000);
        else interTokenLatency.observe(labels, (now - last) / 1000);
        last = now;
      }
    },
    end() {
      if (tokens > 0) tokensOut.inc(labels, tokens);
    },
  };
}

// carriesText says whether an event's data has a non-empty "content", "text" or "text_output"
// string: a chat delta's, a completion's or a KServe generate_stream event's token.
function carriesText(data: string): boolean {
  for (const key of ['"content":"', '"text":"', '"text_output":"']) {
    const at = data.indexOf(key);
    if (at >= 0 && data.charCodeAt(at + key.length) !== 34 /* " */) return true;
  }
  return false;
}
