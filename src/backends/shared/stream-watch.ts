// stream-watch.ts — a streamed answer on its way from a server to the client: the gap between
// chunks is bounded (the deadline covers only the time to the first byte), and its duration and
// bytes are counted. Backpressure goes through: a slow reader pauses the server's stream.

import { pipeline, Transform, type Readable } from 'node:stream';
import { GatewayError } from '../../errors.ts';
import { streamBytes, streamDuration } from '../../observe/metrics.ts';

/** StreamLabels name a stream in metrics, from the config only. */
export interface StreamLabels { backend: string; target: string }

/**
 * watchStream gives `source` as the client will read it: a gap of idleMs with no byte ends it
 * with a deadline_exceeded error (the writer ends the answer so the client can tell), and
 * destroying what it gives (a client that left) destroys the source, aborting the server's call.
 */
export function watchStream(source: Readable, idleMs: number, labels: StreamLabels, what: string): Readable {
  const started = performance.now();
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const watched = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      arm();
      done(null, chunk);
    },
  });
  const arm = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => watched.destroy(new GatewayError('deadline_exceeded', `${what} sent no byte for ${idleMs} ms; the stream was ended`)), idleMs);
  };
  arm();
  pipeline(source, watched, (err) => {
    if (timer !== undefined) clearTimeout(timer);
    streamDuration.observe({ ...labels, outcome: err === undefined || err === null ? 'ok' : 'error' }, (performance.now() - started) / 1000);
    streamBytes.inc(labels, bytes);
  });
  return watched;
}
