import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError, loadWith, parseWith } from '../../src/config/load.ts';
import { duration } from '../../src/config/units.ts';
import { loadConfigFile, parseConfig } from '../../src/schema.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'infergate-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const valid = `
server:
  port: \${AIP_HTTP_PORT:-\${SAGEMAKER_BIND_TO_PORT:-8080}}
  maxBodyBytes: 512kb
frontends:
  sagemaker: { model: iris }
backends:
  flask: { type: http, url: "http://127.0.0.1:5000" }
models:
  iris:
    timeoutMs: 5s
    targets: [ { backend: flask } ]
`;

// parseWith and loadWith read any schema: the gateway's (src/schema.ts) and smaller ones alike.
const small = z.strictObject({ port: z.number(), name: z.string(), wait: duration.prefault('1s') });

test('parseWith validates against the schema it is given, after ${VAR} expansion with YAML types', () => {
  assert.deepEqual(parseWith(small, 'port: ${PORT:-80}\nname: "${NAME}"\n', 's.yaml', { NAME: 'n' }), { port: 80, name: 'n', wait: 1000 });
  assert.equal(parseWith(small, 'port: ${PORT}\nname: x\nwait: 2s\n', 's.yaml', { PORT: '8081' }).port, 8081);
});

test('parseWith reports the schema\'s own issues at their line and column', () => {
  try {
    parseWith(small, 'port: 1\nname: x\nextra: 2\n', 'small.yaml', {});
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.file, 'small.yaml');
    assert.match(err.message, /^small\.yaml:\d+:\d+: .*unknown key "extra"/);
  }
});

test('loadWith reads a file; one it cannot read is a ConfigError naming the file', () => {
  const file = join(dir, 'small.yaml');
  writeFileSync(file, 'port: 2\nname: y\n');
  assert.deepEqual(loadWith(small, file, {}), { port: 2, name: 'y', wait: 1000 });
  const missing = join(dir, 'missing.yaml');
  assert.throws(() => loadWith(small, missing, {}), (e: unknown) => e instanceof ConfigError && e.file === missing && /cannot read the file/.test(e.message));
});

test('env interpolation, nested defaults, sizes and durations', () => {
  const c = parseConfig(valid, 'a.yaml', { SAGEMAKER_BIND_TO_PORT: '9001' });
  assert.equal(c.server.port, 9001);
  assert.equal(c.server.maxBodyBytes, 512 * 1024);
  assert.equal(c.models.iris!.timeoutMs, 5000);
  assert.equal(parseConfig(valid, 'a.yaml', {}).server.port, 8080);
  assert.equal(parseConfig(valid, 'a.yaml', { AIP_HTTP_PORT: '7070' }).server.port, 7070);
});

test('defaults fill what the file leaves out', () => {
  const c = parseConfig(valid, 'a.yaml', {});
  assert.equal(c.server.readiness, 'backends');
  assert.equal(c.server.drainSeconds, 20);
  assert.equal(c.models.iris!.targets[0]!.weight, 100);
});

function issuesOf(text: string, env: Record<string, string> = {}): ConfigError {
  try {
    parseConfig(text, 'bad.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('the config was accepted');
}

test('a wrong value is reported at its line and column with the key path', () => {
  const err = issuesOf(valid.replace('maxBodyBytes: 512kb', 'maxBodyBytes: lots'));
  const issue = err.issues[0]!;
  assert.equal(issue.path, 'server.maxBodyBytes');
  assert.equal(issue.line, 4);
  assert.equal(issue.col, 17);
  assert.match(issue.message, /size such as 10mb/);
  assert.match(err.message, /^bad\.yaml:4:17: server\.maxBodyBytes: /);
});

test('unknown keys, unknown backends and unknown models are named', () => {
  const err = issuesOf(valid.replace('timeoutMs: 5s', 'timeoutMS: 5s').replace('backend: flask', 'backend: flsk')
    .replace('sagemaker: { model: iris }', 'sagemaker: { model: irs }'));
  const text = err.message;
  assert.match(text, /models\.iris: unknown key "timeoutMS"/);
  assert.match(text, /models\.iris\.targets\.0\.backend: unknown backend "flsk"; configured: flask/);
  assert.match(text, /frontends\.sagemaker\.model: unknown model "irs"/);
});

test('a missing variable and broken YAML are reported with positions', () => {
  const env = issuesOf(valid.replace('"http://127.0.0.1:5000"', '"${FLASK_URL}"'));
  assert.match(env.message, /bad\.yaml:8:\d+: environment variable FLASK_URL is not set/);
  const yaml = issuesOf('models: [\n');
  assert.match(yaml.message, /^bad\.yaml:\d+:\d+: /);
});

test('a wrong backend type lists the known ones', () => {
  const err = issuesOf(valid.replace('type: http', 'type: htp'));
  assert.equal(err.issues[0]!.path, 'backends.flask.type');
  assert.match(err.message, /http/);
});

test('infergate check exits 0 for a valid file and 1 listing errors for a bad one', () => {
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yaml');
  writeFileSync(good, valid);
  writeFileSync(bad, valid.replace('maxBodyBytes: 512kb', 'maxBodyBytes: lots').replace('weight', 'x'));
  const ok = spawnSync(process.execPath, [main, 'check', good], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const no = spawnSync(process.execPath, [main, 'check', bad], { encoding: 'utf8' });
  assert.equal(no.status, 1);
  assert.match(no.stderr, /bad\.yaml:4:17: server\.maxBodyBytes/);
  assert.doesNotMatch(no.stderr, /at .*\.ts:\d+/, 'no stack trace');
  assert.equal(loadConfigFile(good, {}).server.port, 8080);
});

test('infergate schema prints a JSON Schema of the config', () => {
  const out = spawnSync(process.execPath, [main, 'schema'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const schema = JSON.parse(out.stdout) as { properties: Record<string, unknown> };
  for (const key of ['server', 'frontends', 'backends', 'models']) assert.ok(key in schema.properties, key);
});
