// The Cloud Run / Knative container contract through the real gateway process: K_SERVICE picks
// config/cloudrun.yaml, PORT is the port (in the default config too), K_REVISION shows in
// /admin/status, the log lines and the metrics, h2c answers on PORT, and log lines have the
// shape Cloud Logging reads (severity, logging.googleapis.com/trace, httpRequest).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:http2';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGateway } from '../support/gateway.ts';
import { freePort } from '../support/ports.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const cloudrunYaml = readFileSync(fileURLToPath(new URL('../../config/cloudrun.yaml', import.meta.url)), 'utf8');
const instances = JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2]] });

interface Plain { child: ChildProcess; lines: () => Array<Record<string, unknown>>; line(message: string): Promise<Record<string, unknown>>; stop(): Promise<void> }

/** runPlain starts `node src/main.ts` with no arguments, as the image's entrypoint does, and no INFERGATE_CONFIG. */
function runPlain(env: Record<string, string>): Plain {
  const { INFERGATE_CONFIG: _, K_SERVICE: __, PORT: ___, ...rest } = process.env;
  const child = spawn(process.execPath, [main], { env: { ...rest, INFERGATE_ADMIN_PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.on('data', (c: Buffer) => { text += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { text += c.toString(); });
  const lines = (): Array<Record<string, unknown>> => text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  return {
    child, lines,
    line: (message) => new Promise((resolve, reject) => {
      const poll = setInterval(() => {
        const found = lines().find((l) => l.message === message);
        if (found !== undefined) { clearInterval(poll); resolve(found); }
        else if (child.exitCode !== null) { clearInterval(poll); reject(new Error(`exited before "${message}":\n${text}`)); }
      }, 20);
    }),
    stop: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }),
  };
}

describe('the platform contract', () => {
  it('K_SERVICE picks config/cloudrun.yaml; PORT is the port; K_REVISION is in status, logs and metrics; h2c on PORT', async () => {
    const port = await freePort();
    const gw = runPlain({ K_SERVICE: 'iris', K_REVISION: 'iris-00042-abc', K_CONFIGURATION: 'iris', PORT: String(port) });
    try {
      const starting = await gw.line('starting');
      assert.equal(starting.version, 'cloudrun');
      assert.match(String(starting.config), /config\/cloudrun\.yaml$/);
      const listening = await gw.line('listening');
      assert.equal(listening.port, port);
      await gw.line('started');
      const admin = `http://127.0.0.1:${listening.adminPort as number}`;
      const status = await (await fetch(`${admin}/admin/status`)).json() as { revision: string };
      assert.equal(status.revision, 'iris-00042-abc');
      assert.match(await (await fetch(`${admin}/metrics`)).text(), /^infergate_revision_info\{revision="iris-00042-abc"\} 1$/m);
      for (const l of gw.lines()) assert.equal(l.revision, 'iris-00042-abc', JSON.stringify(l));
      const session = connect(`http://127.0.0.1:${port}`);
      const answer = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/predict', 'content-type': 'application/json' });
        let body = '';
        stream.on('data', (c: Buffer) => { body += c.toString(); });
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
        stream.end(instances);
      });
      session.close();
      assert.equal((JSON.parse(answer) as { predictions: unknown[] }).predictions.length, 1);
    } finally {
      await gw.stop();
    }
  });

  it('PORT alone moves the bundled default config\'s port (no K_SERVICE: the default config)', async () => {
    const port = await freePort();
    const gw = runPlain({ PORT: String(port) });
    try {
      assert.equal((await gw.line('starting')).version, 'default');
      assert.equal((await gw.line('listening')).port, port);
      assert.equal(gw.lines().some((l) => 'revision' in l), false);
    } finally {
      await gw.stop();
    }
  });
});

describe('Cloud Logging lines', () => {
  it('take the request id from X-Cloud-Trace-Context and carry the trace, span and httpRequest', async () => {
    const yaml = cloudrunYaml.replace('logLevel: info', 'logLevel: debug');
    const gw = await startGateway(yaml, { env: { GOOGLE_CLOUD_PROJECT: 'my-project', K_REVISION: 'iris-00001', PORT: '0', INFERGATE_ADMIN_PORT: '0' } });
    try {
      const trace = '105445aa7843bc8bf206b12000100000';
      const res = await fetch(`${gw.url}/predict`, {
        method: 'POST', body: instances, headers: { 'content-type': 'application/json', 'x-cloud-trace-context': `${trace}/2;o=1`, 'user-agent': 'test-agent' },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-request-id'), trace);
      const line = JSON.parse(await gw.waitForLog(new RegExp(`"requestId":"${trace}".*"message":"request"`))) as Record<string, any>;
      assert.equal(line.severity, 'DEBUG');
      assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
      assert.equal(line.revision, 'iris-00001');
      assert.equal(line['logging.googleapis.com/trace'], `projects/my-project/traces/${trace}`);
      assert.equal(line['logging.googleapis.com/spanId'], '2');
      assert.equal(line['logging.googleapis.com/trace_sampled'], true);
      assert.equal(line.httpRequest.requestMethod, 'POST');
      assert.equal(line.httpRequest.requestUrl, '/predict');
      assert.equal(line.httpRequest.status, 200);
      assert.match(line.httpRequest.latency, /^\d+\.\d{6}s$/);
      assert.equal(line.httpRequest.userAgent, 'test-agent');
      assert.equal(line.httpRequest.remoteIp, '127.0.0.1');
      assert.equal(line.httpRequest.protocol, 'HTTP/1.1');
      assert.equal(line.httpRequest.requestSize, String(instances.length));

      // A client's own x-request-id still wins; a malformed trace header is ignored.
      const own = await fetch(`${gw.url}/nowhere`, { headers: { 'x-request-id': 'mine-1', 'x-cloud-trace-context': `${trace}/3` } });
      assert.equal(own.headers.get('x-request-id'), 'mine-1');
      const ownLine = JSON.parse(await gw.waitForLog(/"requestId":"mine-1".*"message":"request"/)) as Record<string, any>;
      assert.equal(ownLine.httpRequest.status, 404);
      assert.equal(ownLine['logging.googleapis.com/spanId'], '3');
      const bad = await fetch(`${gw.url}/health`, { headers: { 'x-cloud-trace-context': 'not-a-trace' } });
      assert.match(String(bad.headers.get('x-request-id')), /^[0-9a-f-]{36}$/);
    } finally {
      await gw.stop();
    }
  });
});
