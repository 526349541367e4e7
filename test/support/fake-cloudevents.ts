// fake-cloudevents.ts (test support) — a CloudEvents HTTP sink written from the CloudEvents HTTP
// protocol binding v1.0.2 (https://github.com/cloudevents/spec/blob/v1.0.2/cloudevents/bindings/http-protocol-binding.md),
// the binary content mode as KServe's logger sends it: each context attribute in a ce-* header
// (percent-decoded, §3.1.3.2), the data as the body, its type in Content-Type. A request missing a
// required attribute (specversion 1.0, id, source, type) gets 400. Its behaviour can be set:
// answer 200 (the default), answer with another status, or hang (never answer).

import { createServer, type Server } from 'node:http';

/** ReceivedEvent is one event as the sink decoded it. */
export interface ReceivedEvent {
  /** Context attributes by name (the ce- prefix removed), decoded. */
  attributes: Record<string, string>;
  contentType: string;
  data: Buffer;
}

export interface FakeCloudEvents {
  url: string;
  events: ReceivedEvent[];
  /** Requests refused with 400 for a malformed event, with why. */
  refused: string[];
  /** 'ok' answers 202; a number answers that status; 'hang' never answers. */
  mode: 'ok' | 'hang' | number;
  /** Requests that arrived and were left hanging. */
  hanging: number;
  waitFor(done: (events: ReceivedEvent[]) => boolean, timeoutMs?: number): Promise<ReceivedEvent[]>;
  close(): Promise<void>;
}

const required = ['specversion', 'id', 'source', 'type'];

/** startFakeCloudEvents listens on 127.0.0.1, port 0. */
export async function startFakeCloudEvents(): Promise<FakeCloudEvents> {
  const waiters = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (sink.mode === 'hang') {
        sink.hanging++;
        return;
      }
      const attributes: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!name.startsWith('ce-') || typeof value !== 'string') continue;
        try {
          attributes[name.slice(3)] = decodeURIComponent(value);
        } catch {
          sink.refused.push(`${name} is not percent-encoded UTF-8`);
          res.writeHead(400).end();
          return;
        }
      }
      const missing = required.filter((a) => attributes[a] === undefined || attributes[a] === '');
      if (missing.length > 0 || attributes.specversion !== '1.0' || req.method !== 'POST') {
        sink.refused.push(`missing ${missing.join(', ')} (specversion ${attributes.specversion}, ${req.method})`);
        res.writeHead(400).end();
        return;
      }
      sink.events.push({ attributes, contentType: req.headers['content-type'] ?? '', data: Buffer.concat(chunks) });
      res.writeHead(typeof sink.mode === 'number' ? sink.mode : 202).end();
      for (const w of [...waiters]) w();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const sink: FakeCloudEvents = {
    url: `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/`,
    events: [], refused: [], mode: 'ok', hanging: 0,
    waitFor: (done, timeoutMs = 15_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done(sink.events)) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve(sink.events);
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the events wanted did not arrive in ${timeoutMs} ms; got ${sink.events.length}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return sink;
}
