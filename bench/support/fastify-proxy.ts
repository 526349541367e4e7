// fastify-proxy.ts — @fastify/http-proxy, the best-known Node reverse proxy, in front of the
// same backend: the comparison the proxy bench draws for a Node gateway. Defaults, logger off.
// Usage: node bench/support/fastify-proxy.ts PORT UPSTREAM_PORT
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const [port, upstream] = [Number(process.argv[2] ?? 0), process.argv[3]];
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: `http://127.0.0.1:${upstream}`, http2: false });
const address = await app.listen({ port, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: Number(new URL(address).port) })}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
