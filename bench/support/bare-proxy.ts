// bare-proxy.ts — THE FLOOR FOR A NODE GATEWAY, not a product: the least a Node proxy in front of
// a JSON model server can do. node:http server, one undici Pool, JSON.parse and JSON.stringify
// of the body both ways (mode "json"), or the bytes relayed untouched (mode "raw").
// Usage: node bench/support/bare-proxy.ts PORT UPSTREAM_PORT json|raw
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream, mode] = [Number(process.argv[2] ?? 0), process.argv[3], process.argv[4] ?? 'json'];
const pool = new Pool(`http://127.0.0.1:${upstream}`, { connections: 64 });
const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = mode === 'raw' ? Buffer.concat(chunks) : JSON.stringify(JSON.parse(Buffer.concat(chunks).toString()));
  const up = await pool.request({ method: req.method as 'POST', path: req.url!, body, headers: { 'content-type': 'application/json' } });
  const answer = Buffer.from(await up.body.arrayBuffer());
  const out = mode === 'raw' ? answer : JSON.stringify(JSON.parse(answer.toString()));
  res.writeHead(up.statusCode, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
