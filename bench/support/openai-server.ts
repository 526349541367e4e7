// openai-server.ts — the OpenAI-compatible fake (test/support/fake-openai.ts) as a process of its
// own for the streaming benchmark: node bench/support/openai-server.ts 0 INTERVAL_MS MODEL
// prints {"port": N}, then streams one token every INTERVAL_MS per stream.

import { startFakeOpenai } from '../../test/support/fake-openai.ts';

const interval = Number(process.argv[3] ?? 20);
const fake = await startFakeOpenai({ model: process.argv[4] ?? 'llm', intervalMs: interval });
console.log(JSON.stringify({ port: Number(new URL(fake.url).port) }));
