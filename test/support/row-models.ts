// row-models.ts (test support) — one in-process HTTP model server with many small `instances`
// models, for graph tests: POST /m/{name} {"instances": [...]} → {"predictions": [...]}, the
// answer computed by the model named in the path (rowModels below), so a test can compute every
// expected value. GET /health is 200. Each call is recorded (path and body).

import { startRecordingServer, type RecordedCall } from './fake-server.ts';

type Row = unknown;
const nums = (r: Row): number[] => (Array.isArray(r) ? (r as number[]) : [r as number]);

/** rowModels are the models the server answers, by name: each maps the instances to predictions. */
export const rowModels: Record<string, (rows: Row[], parameters: Record<string, unknown> | undefined) => unknown[]> = {
  double: (rows) => rows.map((r) => nums(r).map((x) => x * 2)),
  plus1: (rows) => rows.map((r) => nums(r).map((x) => x + 1)),
  neg: (rows) => rows.map((r) => nums(r).map((x) => -x)),
  sum: (rows) => rows.map((r) => nums(r).reduce((a, b) => a + b, 0)),
  // Two outputs per row: an object with fields y1 (x·2) and y2 (x+1).
  pair: (rows) => rows.map((r) => ({ y1: nums(r).map((x) => x * 2), y2: nums(r).map((x) => x + 1) })),
  // Takes object rows and answers 10 × their "value" field, element-wise.
  value10: (rows) => rows.map((r) => nums((r as { value: Row }).value).map((x) => x * 10)),
  cat: (rows) => rows.map(() => 'cat'),
  dog: (rows) => rows.map(() => 'dog'),
  de: (rows) => rows.map(() => 'de'),
  acme: (rows) => rows.map(() => 'acme'),
  big: (rows) => rows.map(() => 'big'),
  other: (rows) => rows.map(() => 'other'),
  // Echoes the parameters it got, once per row.
  params: (rows, parameters) => rows.map(() => parameters ?? null),
};

/** RowModelServer is the running server. */
export interface RowModelServer {
  url: string;
  calls: RecordedCall[];
  close(): Promise<void>;
}

/** startRowModels listens on a free port of 127.0.0.1; /m/broken answers 500 {"error": "the model broke"}. */
export async function startRowModels(): Promise<RowModelServer> {
  const calls: RecordedCall[] = [];
  const server = await startRecordingServer(calls, (req, res, body) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const name = path.startsWith('/m/') ? decodeURIComponent(path.slice(3)) : '';
    const model = Object.hasOwn(rowModels, name) ? rowModels[name] : undefined;
    if (model === undefined) {
      res.writeHead(name === 'broken' ? 500 : 404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: name === 'broken' ? 'the model broke' : `no model ${name}` }));
      return;
    }
    const doc = JSON.parse(body.toString()) as { instances: Row[]; parameters?: Record<string, unknown> };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ predictions: model(doc.instances, doc.parameters) }));
  });
  return { url: server.url, calls, close: () => server.close() };
}
