// processes.ts — start and stop the helper processes a benchmark needs (backends, nginx).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Proc {
  port: number;
  /** The process id (nginx: its master), for CPU accounting. */
  pid: number;
  stop(): Promise<void>;
}

/** startNodeServer runs a .ts server that prints {"port": N} on its first stdout line. */
export function startNodeServer(file: string, args: string[] = []): Promise<Proc> {
  const child = spawn(process.execPath, [fileURLToPath(file), '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve({ port: (JSON.parse(line) as { port: number }).port, pid: child.pid!, stop: () => stopChild(child) });
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

/**
 * startNginx runs nginx-light with one worker, proxying to `upstreamPort` with upstream
 * keepalive; `buffering: false` relays answers as they come (proxy_buffering off, for streams).
 */
export async function startNginx(listenPort: number, upstreamPort: number, opts: { buffering?: boolean } = {}): Promise<Proc> {
  const dir = mkdtempSync(join(tmpdir(), 'infergate-nginx-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream model { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${listenPort};
    location / {
      proxy_pass http://model;
      proxy_http_version 1.1;
      proxy_set_header Connection "";${opts.buffering === false ? '\n      proxy_buffering off;\n      proxy_read_timeout 120s;' : ''}
    }
  }
}
`);
  const child = spawn('nginx', ['-c', conf, '-p', dir], { stdio: 'inherit' });
  await waitForPort(listenPort);
  return { port: listenPort, pid: child.pid!, stop: () => stopChild(child) };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 3000).unref();
  });
}
