// lifecycle.ts — SIGTERM/SIGINT: answer not-ready at once, keep accepting for a short delay so
// load balancers notice, stop accepting, let in-flight requests finish within drainSeconds,
// close backends (supervised processes last), exit 0. (SIGHUP belongs to config/watch.ts.) Works as PID 1 too,
// because Node installs these handlers itself instead of relying on default signal actions.

import type { Logger } from 'pino';
import { GatewayError } from '../errors.ts';
import { endStreams } from './reply.ts';

/** Listener is what draining needs of a listener: node:http's Server, and the gRPC one (server/grpc.ts). */
export interface Listener {
  close(callback?: () => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
}

export interface LifecycleDeps {
  servers: Listener[];
  drainSeconds: number;
  drainDelaySeconds: number;
  log: Logger;
  startDraining(): void;
  closeBackends(): Promise<void>;
  exit?(code: number): void;
}

/** installSignalHandlers wires SIGTERM, SIGINT and SIGHUP; returns a function that removes them. */
export function installSignalHandlers(deps: LifecycleDeps): () => void {
  let stopping = false;
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      deps.log.warn({ signal }, 'second stop signal: exiting now');
      (deps.exit ?? process.exit)(1);
      return;
    }
    stopping = true;
    void shutdown(deps, signal).then((code) => (deps.exit ?? process.exit)(code));
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  return () => {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  };
}

/** shutdown drains and closes everything; resolves with the exit code. */
export async function shutdown(deps: LifecycleDeps, signal: string): Promise<number> {
  const started = performance.now();
  const budgetMs = deps.drainSeconds * 1000;
  deps.log.info({ signal, drainSeconds: deps.drainSeconds }, 'draining: readiness now answers 503');
  deps.startDraining();
  await sleep(Math.min(deps.drainDelaySeconds * 1000, budgetMs));
  const closed = Promise.all(deps.servers.map((s) => new Promise<void>((resolve) => {
    s.close(() => resolve());
    s.closeIdleConnections();
  })));
  const idleSweep = setInterval(() => deps.servers.forEach((s) => s.closeIdleConnections()), 100);
  const left = Math.max(0, budgetMs - (performance.now() - started) - streamEndMs);
  let finished = await Promise.race([closed.then(() => true), sleep(left).then(() => false)]);
  if (!finished) {
    // Streams still open (LLM answers) are ended with an error event the client can read, and
    // get a moment to flush it before their connections are closed.
    const ended = endStreams(new GatewayError('draining', 'the gateway is shutting down; this stream was ended before it finished'));
    if (ended > 0) deps.log.warn({ streams: ended }, 'drain time is up: ending the open streams');
    finished = await Promise.race([closed.then(() => true), sleep(streamEndMs).then(() => false)]);
  }
  clearInterval(idleSweep);
  if (!finished) {
    deps.log.warn('drain time is up: closing the remaining connections');
    deps.servers.forEach((s) => s.closeAllConnections());
  }
  try {
    await deps.closeBackends();
  } catch (err) {
    deps.log.error({ err }, 'closing backends failed');
  }
  deps.log.info({ ms: Math.round(performance.now() - started) }, 'stopped');
  return 0;
}

// Taken from the end of the drain budget: the time ended streams get to write their last event.
const streamEndMs = 250;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
