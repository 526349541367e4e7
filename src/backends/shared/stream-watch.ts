// stream-watch.ts — a streamed answer on its way from a server to the client: the gap between
// chunks is bounded (the deadline covers only the time to the first byte), and its duration and
// bytes are counted. Backpressure goes through: a slow reader pauses the server's stream.
// One pass-through per stream, and one timer per gap rather than per chunk: at thousands of
// chunks a second (LLM tokens) the per-chunk work is what the gateway spends.

import { pipeline, Transform, type Readable } from 'node:stream';
import { GatewayError } from '../../errors.ts';
import { streamBytes, streamDuration } from '../../observe/metrics.ts';

/** StreamLabels name a stream in metrics, from the config only. */
export interface StreamLabels { backend: string; target: string }

/** ChunkMeter reads each chunk as it passes (LLM token timings), and hears when the stream ends. */
export interface ChunkMeter {
  chunk(data: Buffer, now: number): void;
  end(): void;
}

/**
 * watchStream gives `source` as the client will read it: a gap of idleMs with no byte ends it
 * with a deadline_exceeded error (the writer ends the answer so the client can tell), and
 * destroying what it gives (a client that left) destroys the source, aborting the server's call.
 */
export function watchStream(source: Readable, idleMs: number, labels: StreamLabels, what: string, meter?: ChunkMeter): Readable {
  const started = performance.now();
  let bytes = 0;
  let lastByte = started;
  let timer: NodeJS.Timeout | undefined;
  const watched = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      lastByte = performance.now();
      meter?.chunk(chunk, lastByte);
      done(null, chunk);
    },
  });
  // The timer fires when the last gap could first have run out, and looks again from there.
  const check = (): void => {
    const idle = performance.now() - lastByte;
    if (idle >= idleMs) watched.destroy(new GatewayError('deadline_exceeded', `${what} sent no byte for ${idleMs} ms; the stream was ended`));
    else timer = setTimeout(check, idleMs - idle);
  };
  timer = setTimeout(check, idleMs);
  pipeline(source, watched, (err) => {
    clearTimeout(timer);
    meter?.end();
    streamDuration.observe({ ...labels, outcome: err === undefined || err === null ? 'ok' : 'error' }, (performance.now() - started) / 1000);
    streamBytes.inc(labels, bytes);
  });
  return watched;
}
