// wrk.ts — runs wrk (Debian package) against one URL with a fixed POST body and parses its
// figures. wrk is C and event-driven: one thread drives 32 connections at a fraction of a core,
// where an in-process load tool (autocannon) would take the core the gateway needs on this
// 2-core machine.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** WrkResult is one wrk run: requests per second, latency percentiles in ms, failures. */
export interface WrkResult { rps: number; p50: number; p99: number; errors: number; non2xx: number }

export interface WrkOptions {
  body: string;
  /** Bodies sent in turn, one per request (replaces `body`), e.g. several images. */
  bodies?: string[];
  durationS: number;
  connections?: number;
  threads?: number;
  contentType?: string;
}

/** wrkLoad runs `wrk -tT -cC -dDs -s post.lua --latency URL` and parses its report. */
export async function wrkLoad(url: string, o: WrkOptions): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-wrk-'));
  const script = join(dir, 'post.lua');
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${luaString(o.body)}\nwrk.headers["Content-Type"] = ${luaString(o.contentType ?? 'application/json')}\n${o.bodies === undefined ? '' : rotate(o.bodies)}`);
  try {
    const out = await new Promise<string>((resolve, reject) => {
      execFile('wrk', [`-t${o.threads ?? 1}`, `-c${o.connections ?? 32}`, `-d${o.durationS}s`, '-s', script, '--latency', url],
        { timeout: (o.durationS + 30) * 1000 }, (err, stdout, stderr) => {
          if (err !== null) reject(new Error(`wrk failed: ${err.message} ${stderr}`));
          else resolve(stdout);
        });
    });
    return parseWrk(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** parseWrk reads Requests/sec, the 50% and 99% latency lines and the error counts of a wrk report. */
export function parseWrk(out: string): WrkResult {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (rps === null) throw new Error(`wrk printed no Requests/sec:\n${out}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket === null ? 0 : socket.slice(1).reduce((s, v) => s + Number(v), 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { rps: Math.round(Number(rps[1])), p50: latency(out, '50%'), p99: latency(out, '99%'), errors, non2xx };
}

function latency(out: string, pct: string): number {
  const m = new RegExp(`^\\s+${pct}\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
  if (m === null) return Number.NaN;
  const v = Number(m[1]);
  const ms = m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v;
  return Math.round(ms * 1000) / 1000;
}

// rotate makes wrk's request() hand out the bodies in turn (each connection thread keeps its own turn).
function rotate(bodies: string[]): string {
  return `local bodies = { ${bodies.map(luaString).join(', ')} }\nlocal turn = 0\nrequest = function()\n  turn = turn % #bodies + 1\n  return wrk.format(nil, nil, nil, bodies[turn])\nend\n`;
}

function luaString(s: string): string {
  return `"${s.replace(/[\\"]/g, '\\$&').replace(/\n/g, '\\n')}"`;
}
