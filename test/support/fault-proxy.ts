// fault-proxy.ts — a TCP proxy between the gateway and a backend for wire-level faults (no
// toxiproxy or tc netem on these machines): pass, cut (reset every connection, old and new),
// delay (latency on every chunk, both ways), throttle (bytes per second, both ways) and
// blackhole (accept and read, forward nothing). Switchable at run time with setMode().

import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** ProxyMode says what the proxy does to traffic from now on. */
export type ProxyMode =
  | { kind: 'pass' }
  | { kind: 'cut' }
  | { kind: 'delay'; ms: number }
  | { kind: 'throttle'; bytesPerSecond: number }
  | { kind: 'blackhole' };

/** FaultProxy is a running proxy. */
export interface FaultProxy {
  url: string;
  port: number;
  setMode(mode: ProxyMode): void;
  /** Connections open now (client side). */
  connections(): number;
  close(): Promise<void>;
}

/** startFaultProxy listens on 127.0.0.1 (free port) and forwards to targetPort on 127.0.0.1. */
export async function startFaultProxy(targetPort: number): Promise<FaultProxy> {
  let mode: ProxyMode = { kind: 'pass' };
  const pairs = new Set<{ client: Socket; upstream: Socket }>();

  const pipe = (from: Socket, to: Socket): void => {
    // Chunks leave in order, each after the mode's delay or throttle time.
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      const m = mode;
      if (m.kind === 'blackhole') return;
      if (m.kind === 'pass') {
        chain = chain.then(() => { if (!to.destroyed) to.write(chunk); });
        return;
      }
      const wait = m.kind === 'delay' ? m.ms : m.kind === 'throttle' ? (chunk.length / m.bytesPerSecond) * 1000 : 0;
      from.pause();
      chain = chain.then(() => new Promise<void>((resolve) => setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
        from.resume();
        resolve();
      }, wait)));
    });
    from.on('end', () => { void chain.then(() => to.end()); });
  };

  const server: Server = createServer((client) => {
    if (mode.kind === 'cut') { client.resetAndDestroy(); return; }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    const pair = { client, upstream };
    pairs.add(pair);
    const done = (): void => {
      pairs.delete(pair);
      if (!client.destroyed) client.destroy();
      if (!upstream.destroyed) upstream.destroy();
    };
    client.on('error', done).on('close', done);
    upstream.on('error', () => { if (!client.destroyed) client.resetAndDestroy(); done(); }).on('close', done);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setMode(next) {
      mode = next;
      if (next.kind === 'cut') for (const { client, upstream } of pairs) { client.resetAndDestroy(); upstream.destroy(); }
    },
    connections: () => pairs.size,
    close: () => new Promise<void>((resolve) => {
      for (const { client, upstream } of pairs) { client.destroy(); upstream.destroy(); }
      server.close(() => resolve());
    }),
  };
}
