import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src', 'main.ts');
const defaultConfig = join(root, 'config', 'default.yaml');
const dir = mkdtempSync(join(tmpdir(), 'infergate-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// The platform variables the bundled config reads are left out, so every run sees the same file.
const platformVars = /^(INFERGATE_|AIP_|SAGEMAKER_|MODEL_DEPLOY_|STORAGE_EMULATOR_HOST$)/;
function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !platformVars.test(k)));
}

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { cwd: root, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { stdout += c; });
    child.stderr.setEncoding('utf8').on('data', (c: string) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const usageLines = [/usage: infergate \[serve\] \[--config FILE\]/, /infergate check FILE/, /infergate schema \[--markdown\]/];

describe('infergate schema', () => {
  it('prints the JSON Schema of the config file', async () => {
    const r = await cli(['schema']);
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(r.stdout) as { $schema?: string; type: string; properties: Record<string, { type?: string }> };
    assert.match(schema.$schema ?? '', /json-schema\.org/);
    assert.equal(schema.type, 'object');
    for (const key of ['models', 'backends', 'frontends', 'server']) assert.ok(key in schema.properties, key);
    assert.ok(r.stdout.endsWith('}\n'));
  });

  it('prints the config reference tables with --markdown', async () => {
    const r = await cli(['schema', '--markdown']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^#### `server`$/m);
    assert.match(r.stdout, /^\| key \| type \| default \| what it does \|$/m);
    assert.match(r.stdout, /^\| `maxBodyBytes` \|/m);
    assert.match(r.stdout, /`onnx`|onnx/);
    assert.throws(() => JSON.parse(r.stdout));
  });
});

describe('infergate check', () => {
  it('takes the file as serve does too: check --config FILE and --config=FILE', async () => {
    for (const args of [['check', '--config', defaultConfig], ['check', `--config=${defaultConfig}`]]) {
      const r = await cli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${defaultConfig}: valid\n`);
    }
  });

  it('exits 0 and says valid for the bundled config', async () => {
    const r = await cli(['check', defaultConfig]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${defaultConfig}: valid\n`);
    assert.equal(r.stderr, '');
  });

  it('exits 1 with file:line:col for an unknown key', async () => {
    const path = file('unknown-key.yaml', [
      'server:',
      '  port: 8080',
      '  bogus: 1',
      'backends:',
      '  a: { type: http, url: "http://127.0.0.1:1" }',
      'models:',
      '  m:',
      '    targets: [ { backend: a } ]',
      '',
    ].join('\n'));
    const r = await cli(['check', path]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^${escape(path)}:\\d+:\\d+: server: unknown key "bogus"$`, 'm'));
  });

  it('exits 1 with file:line:col for an unknown backend type and an unknown backend name, listing both', async () => {
    const path = file('unknown-backend.yaml', [
      'backends:',
      '  a: { type: nosuch, url: "http://127.0.0.1:1" }',
      'models:',
      '  m:',
      '    targets: [ { backend: missing } ]',
      '',
    ].join('\n'));
    const r = await cli(['check', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${escape(path)}:2:\\d+: backends\\.a\\.type: .*'http'.*'onnx'`, 'm'));
    const named = file('unknown-backend-name.yaml', [
      'backends:',
      '  a: { type: http, url: "http://127.0.0.1:1" }',
      'models:',
      '  m:',
      '    targets: [ { backend: missing } ]',
      '',
    ].join('\n'));
    const r2 = await cli(['check', named]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, new RegExp(`^${escape(named)}:5:\\d+: models\\.m\\.targets\\.0\\.backend: unknown backend "missing"; configured: a$`, 'm'));
  });

  it('exits 1 with the position of a YAML syntax error', async () => {
    const path = file('syntax.yaml', 'server:\n  port: [8080\n');
    const r = await cli(['check', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${escape(path)}:\\d+:\\d+: `, 'm'));
  });

  it('exits 1 for a file that cannot be read', async () => {
    const path = join(dir, 'absent.yaml');
    const r = await cli(['check', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read the file/);
    assert.ok(r.stderr.includes(path));
  });

  it('exits 1 for a config the schema accepts but the gateway cannot build (two frontends on one route)', async () => {
    const path = file('clash.yaml', [
      'frontends:',
      '  vertex: { model: m, predictRoute: /predict }',
      '  oci: { model: m }',
      'backends:',
      '  a: { type: http, url: "http://127.0.0.1:1" }',
      'models:',
      '  m:',
      '    targets: [ { backend: a } ]',
      '',
    ].join('\n'));
    const r = await cli(['check', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${escape(path)}: .*/predict is claimed by both vertex and oci`, 'm'));
  });

  it('checks $INFERGATE_CONFIG when no file is given', async () => {
    const bad = file('env-bad.yaml', 'server:\n  nope: 1\n');
    const r = await cli(['check'], { INFERGATE_CONFIG: bad });
    assert.equal(r.code, 1);
    assert.ok(r.stderr.startsWith(`${bad}:`), r.stderr);
    const ok = await cli(['check'], { INFERGATE_CONFIG: defaultConfig });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, `${defaultConfig}: valid\n`);
  });
});

describe('infergate serve', () => {
  it('exits 1 before listening when the config is not valid', async () => {
    const path = file('serve-bad.yaml', 'server:\n  port: "not a port"\n');
    const r = await cli(['serve', '--config', path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^infergate: the config is not valid:/);
    assert.ok(r.stderr.includes(`${path}:2:`), r.stderr);
    const viaEnv = await cli([], { INFERGATE_CONFIG: path });
    assert.equal(viaEnv.code, 1);
    assert.match(viaEnv.stderr, /the config is not valid/);
  });
});

describe('infergate help and unknown commands', () => {
  it('help prints the usage and exits 0', async () => {
    const r = await cli(['help']);
    assert.equal(r.code, 0, r.stderr);
    for (const line of usageLines) assert.match(r.stdout, line);
    assert.match(r.stdout, /^check\s+validates FILE/m);
    assert.match(r.stdout, /^schema\s+prints the JSON Schema/m);
    assert.equal(r.stderr, '');
  });

  it('an unknown command exits 2 naming it, with the usage on stderr', async () => {
    const r = await cli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^unknown command "frobnicate"$/m);
    for (const line of usageLines) assert.match(r.stderr, line);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

it('--help and -h print the usage instead of starting the server', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  for (const arg of ['--help', '-h']) {
    const child = spawn(process.execPath, [main, arg], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, INFERGATE_PORT: '0' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, `${arg}: exit ${code}`);
    assert.match(out, /usage: infergate/);
  }
});

// Configs that must be refused (issue 14, item 11): each by `check` and by `serve`, exit 1 with
// a clear error. Before, the bombs crashed into the uncaught-exception handler, which logged
// and let the process exit 0; the others passed.
describe('configs that are refused by check and serve', () => {
  const base = [
    'server: { host: 127.0.0.1, port: 0, adminPort: 0 }',
    'backends: { b: { type: http, url: "http://127.0.0.1:9" } }',
  ].join('\n');
  const aliasBomb = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]',
    ...Array.from({ length: 8 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`)].join('\n');
  // YAML 1.1 turns merge keys on: each map merges the one before and holds it twice more.
  const mergeBomb = ['%YAML 1.1', '---', 'm0: &m0 { k0: 1, j0: 2 }',
    ...Array.from({ length: 24 }, (_, i) => `m${i + 1}: &m${i + 1} { <<: *m${i}, k${i + 1}: *m${i}, j${i + 1}: *m${i} }`)].join('\n');
  const deep = 20_000;
  const cases: Array<{ name: string; text: string; env?: Record<string, string>; error: RegExp }> = [
    { name: 'an alias bomb', text: `${aliasBomb}\n${base}\nmodels: { m: { targets: [ { backend: b } ] } }\n`, error: /cannot be expanded: .*alias.*more than 100/i },
    { name: 'a merge-key bomb', text: `${mergeBomb}\n${base}\nmodels: { m: { targets: [ { backend: b } ] } }\n`, error: /cannot be expanded: .*alias.*more than 100/i },
    { name: `\${U:- nested ${deep} deep`, text: `version: "${'${U:-'.repeat(deep)}x${'}'.repeat(deep)}"\n${base}\nmodels: { m: { targets: [ { backend: b } ] } }\n`, error: /nested more than 16 deep/ },
    { name: 'timeoutMs: 700h', text: `${base}\nmodels: { m: { timeoutMs: 700h, targets: [ { backend: b } ] } }\n`, error: /models\.m\.timeoutMs: duration "700h" is too long: at most 2147483647 ms/ },
    { name: 'weight: ${W} with W empty', text: `${base}\nmodels:\n  m:\n    targets:\n      - backend: b\n        weight: \${W}\n`, env: { W: '' }, error: /environment variable W is empty/ },
  ];
  for (const c of cases) {
    it(`${c.name}: check and serve exit 1 with a clear error`, async () => {
      const path = file(`refused-${cases.indexOf(c)}.yaml`, c.text);
      const check = await cli(['check', path], c.env);
      assert.equal(check.code, 1, `check: ${check.stdout}${check.stderr}`);
      assert.match(check.stderr, c.error);
      assert.doesNotMatch(check.stderr, /uncaught exception/);
      const serve = await cli(['serve', '--config', path], c.env);
      assert.equal(serve.code, 1, `serve: ${serve.stdout}${serve.stderr}`);
      assert.match(serve.stderr, /the config is not valid/);
      assert.match(serve.stderr, c.error);
    });
  }

  it('an empty value with a default takes the default; the same config is valid', async () => {
    const path = file('refused-ok.yaml', `${base}\nmodels:\n  m:\n    targets:\n      - backend: b\n        weight: \${W:-5}\n`);
    const r = await cli(['check', path], { W: '' });
    assert.equal(r.code, 0, r.stderr);
  });

  it('a config of 20,000 models (about 850 KB) is checked and found valid', async () => {
    const models = Array.from({ length: 20_000 }, (_, i) => `  m${String(i).padStart(5, '0')}: { targets: [ { backend: b } ] }`);
    const path = file('many-models.yaml', `frontends:\n  kserve: {}\n${base}\nmodels:\n${models.join('\n')}\n`);
    const r = await cli(['check', path]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /valid/);
  });

  it('a duplicate key is still refused, at its line', async () => {
    const path = file('duplicate.yaml', `${base}\nmodels:\n  m: { targets: [ { backend: b } ] }\n  m: { targets: [ { backend: b } ] }\n`);
    const r = await cli(['check', path]);
    assert.equal(r.code, 1);
    assert.ok(r.stderr.includes(`${path}:5:3: Map keys must be unique`), r.stderr);
  });
});

it('an uncaught exception in serve is logged, then the process exits 1 (the platform restarts it)', async () => {
  const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
  const config = file('uncaught.yaml', 'server: { host: 127.0.0.1, port: 0, adminPort: 0 }\nbackends: {}\nmodels: {}\n');
  // A preloaded module throws from a timer once the gateway listens: an exception nothing catches.
  const preload = file('throw-later.mjs', "setTimeout(() => { throw new Error('boom from a timer'); }, 1500);\n");
  const child = spawn(process.execPath, ['--import', preload, main, 'serve', '--config', config], { cwd: root, env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c; });
  child.stderr.setEncoding('utf8').on('data', (c: string) => { out += c; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  assert.match(out, /"message":"listening"/, 'the gateway had started');
  assert.match(out, /"severity":"CRITICAL","message":"uncaught exception: boom from a timer; exiting"/);
  assert.equal(code, 1, out);
});
