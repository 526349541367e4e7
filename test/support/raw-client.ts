// raw-client.ts (test support) — writes exact bytes to a server over one TCP connection and
// parses every HTTP/1.1 response that comes back (pipelined ones in order), noting whether the
// server closed the connection itself. For framing, smuggling and slow-client tests.

import { connect, type Socket } from 'node:net';

/** RawResponse is one parsed response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** RawExchange is what came back on one connection. */
export interface RawExchange {
  responses: RawResponse[];
  /** The server ended or reset the connection before our timeout (we never closed first). */
  closedByServer: boolean;
  /** Unparsed bytes left at the end (a partial response). */
  rest: string;
  ms: number;
}

export interface RawOptions {
  host?: string;
  /** Give up (and close) after this long; default 3000 ms. */
  timeoutMs?: number;
  /** Stop as soon as this many responses arrived (keep-alive servers do not close). */
  expect?: number;
}

/** rawExchange writes bytes (or a list of chunks, written as they come) and reads until close, timeout or `expect` answers. */
export function rawExchange(port: number, bytes: string | Buffer, options: RawOptions = {}): Promise<RawExchange> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket: Socket = connect(port, options.host ?? '127.0.0.1', () => socket.write(bytes));
    let data = Buffer.alloc(0);
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const { responses, rest } = parseResponses(data);
      resolve({ responses, closedByServer, rest, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 3000);
    socket.on('data', (c: Buffer) => {
      data = Buffer.concat([data, c]);
      if (options.expect !== undefined && parseResponses(data).responses.length >= options.expect) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** parseResponses splits a byte stream into complete responses (Content-Length or chunked bodies). */
export function parseResponses(data: Buffer): { responses: RawResponse[]; rest: string } {
  const responses: RawResponse[] = [];
  let text = data.toString('latin1');
  for (;;) {
    const end = text.indexOf('\r\n\r\n');
    if (end < 0) break;
    const lines = text.slice(0, end).split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (status === null) break;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let rest = text.slice(end + 4);
    let body = '';
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      let complete = false;
      for (;;) {
        const lineEnd = rest.indexOf('\r\n');
        if (lineEnd < 0) break;
        const size = parseInt(rest.slice(0, lineEnd), 16);
        if (Number.isNaN(size) || rest.length < lineEnd + 2 + size + 2) break;
        body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 2 + size + 2);
        if (size === 0) { complete = true; break; }
      }
      if (!complete) break;
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (rest.length < length) break;
      body = rest.slice(0, length);
      rest = rest.slice(length);
    }
    responses.push({ status: Number(status[1]), headers, body: Buffer.from(body, 'latin1').toString('utf8') });
    text = rest;
  }
  return { responses, rest: text };
}

/** request builds raw request bytes from a request line, header lines and a body. */
export function rawRequest(line: string, headers: string[], body = ''): string {
  return `${line}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}
