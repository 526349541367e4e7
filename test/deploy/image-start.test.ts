// image-start.test.ts — SLOW (one `npm ci --omit=dev`, about a minute): does what the Docker image
// does, without a container engine. From a clean copy of the repository (the files git would
// commit: tracked plus untracked-but-not-ignored, no node_modules, no .git) it follows the root
// Dockerfile's CPU build: the deps stage's COPY and `npm ci --omit=dev` (ONNXRUNTIME_NODE_INSTALL=skip),
// the final stage's COPY instructions into a WORKDIR stand-in, the `infergate` link on PATH; then it
// runs ENTRYPOINT + CMD with the image's ENV (and nothing else from this shell), asks the
// HEALTHCHECK command, makes a prediction, and stops it with SIGTERM. A runtime dependency listed
// under devDependencies, a dev-only import, or a file the Dockerfile forgets to copy fails here.
// Set INFERGATE_SKIP_IMAGE_TEST=1 to skip it in a quick local loop.

import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { all, copies, envOf, execForm, imageChain, readDockerfile, stageNamed, workdir, type Stage } from './dockerfile.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const skip = process.env.INFERGATE_SKIP_IMAGE_TEST === '1' ? 'INFERGATE_SKIP_IMAGE_TEST=1' : false;

/** committedFiles lists what a fresh clone would hold once the working tree is committed. */
function committedFiles(): string[] {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
    return out.split('\0').filter((f) => f !== '' && existsOrLink(join(root, f)));
  } catch {
    return walk(root).filter((f) => !/(^|\/)(node_modules|\.git)(\/|$)/.test(f));
  }
}

function existsOrLink(p: string): boolean {
  try { lstatSync(p); return true; } catch { return false; }
}

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name === '.git') return [];
    const p = join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [relative(base, p)];
  });
}

/** copyInto follows one stage's COPY instructions from a context folder into a WORKDIR stand-in. */
function copyInto(stage: Stage, context: string, target: string, stageRoots: Record<string, { dir: string; workdir: string }>, workdirPath: string): void {
  for (const c of copies(stage)) {
    const dest = join(target, c.dest.startsWith('/') ? relative(workdirPath, c.dest) : c.dest);
    for (const src of c.sources) {
      const from = c.from === undefined ? join(context, src) : join(stageRoots[c.from]!.dir, relative(stageRoots[c.from]!.workdir, src));
      if (src === '/usr/local/bin/node') continue; // the Node binary of the base image: this process's node stands in
      const into = c.dest.endsWith('/') && !src.endsWith('/') ? join(dest, src.split('/').at(-1)!) : dest;
      mkdirSync(dirname(into), { recursive: true });
      cpSync(from, into, { recursive: true, verbatimSymlinks: true });
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)); });
  });
}

describe('[slow] the image\'s start, without an engine', { skip, timeout: 600_000 }, () => {
  const dockerfile = readDockerfile(`${root}Dockerfile`);
  const chain = imageChain(dockerfile);
  const final = chain.stages[0]!;
  const deps = stageNamed(dockerfile, 'deps');
  const imageWorkdir = workdir(chain.stages);
  const tmp = mkdtempSync(join(tmpdir(), 'infergate-image-'));
  const clean = join(tmp, 'repo');
  const depsDir = join(tmp, 'deps');
  const app = join(tmp, 'app');
  const bin = join(tmp, 'bin');
  let child: ChildProcess | undefined;
  let output = '';
  let port = 0;
  let env: Record<string, string> = {};

  before(async () => {
    for (const f of committedFiles()) {
      mkdirSync(dirname(join(clean, f)), { recursive: true });
      if (lstatSync(join(root, f)).isSymbolicLink()) symlinkSync(readlinkSync(join(root, f)), join(clean, f));
      else cpSync(join(root, f), join(clean, f));
    }
    // deps stage
    copyInto(deps, clean, depsDir, {}, workdir([deps]));
    const install = all([deps], 'RUN').find((r) => /npm ci/.test(r.args))!;
    assert.match(install.args, /npm ci --omit=dev/);
    execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: depsDir, stdio: 'pipe', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', NODE_ENV: 'production' },
    });
    // final stage
    copyInto(final, clean, app, { deps: { dir: depsDir, workdir: workdir([deps]) } }, imageWorkdir);
    const link = all(chain.stages, 'RUN').map((r) => /ln -s (\S+) \/usr\/local\/bin\/infergate\b/.exec(r.args)).find(Boolean)!;
    mkdirSync(bin, { recursive: true });
    symlinkSync(join(app, relative(imageWorkdir, link[1]!)), join(bin, 'infergate'));
    port = await freePort();
    const imageEnv = Object.fromEntries(Object.entries(envOf(chain.stages)).map(([k, v]) => [k, v.replaceAll(imageWorkdir, app)]));
    // The image's ENV, its PATH (node and infergate), a HOME, and the platform's port variable.
    env = { ...imageEnv, PATH: `${bin}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: tmp, AIP_HTTP_PORT: String(port) };
    const command = [...execForm(all(chain.stages, 'ENTRYPOINT').at(-1)!.args)!, ...execForm(all(chain.stages, 'CMD').at(-1)!.args)!];
    child = spawn(command[0]!, command.slice(1), { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { output += c.toString(); });
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('installs no devDependency (but those a production package needs too: protobufjs needs @types/node)', () => {
    const pkg = JSON.parse(readFileSync(join(clean, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(clean, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    for (const name of Object.keys(pkg.devDependencies)) {
      const devOnly = lock.packages[`node_modules/${name}`]?.dev === true;
      assert.equal(existsSync(join(app, 'node_modules', name)), !devOnly, `${name} is ${devOnly ? 'not ' : ''}installed`);
    }
    assert.ok(!existsSync(join(app, 'node_modules', 'typescript')) && !existsSync(join(app, 'node_modules', 'node')), 'no compiler, no second Node');
    assert.ok(existsSync(join(app, 'node_modules', 'onnxruntime-node')));
    assert.ok(readlinkSync(join(bin, 'infergate')).endsWith('bin/infergate.js'));
  });

  it('becomes healthy and answers the HEALTHCHECK command', async () => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      assert.ok(child!.exitCode === null, `the gateway exited with ${child!.exitCode}:\n${output}`);
      const status = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0);
      if (status === 200) break;
      assert.ok(Date.now() < deadline, `not healthy within 120 s (last status ${status}):\n${output}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const healthcheck = /CMD (.+)$/.exec(all(chain.stages, 'HEALTHCHECK')[0]!.args)![1]!;
    execFileSync('sh', ['-c', healthcheck], { env, stdio: 'pipe' }); // throws on a non-zero exit
  });

  it('predicts through the started gateway', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]] }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const predictions = (JSON.parse(text) as { predictions: unknown[] }).predictions;
    const label = (p: unknown): unknown => {
      const v = p !== null && typeof p === 'object' && !Array.isArray(p) ? (p as { label: unknown }).label : p;
      return Array.isArray(v) ? v[0] : v;
    };
    assert.deepEqual(predictions.map(label), [0, 2], text);
  });

  it('drains and exits 0 on SIGTERM, as `docker stop` asks', async () => {
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child!.kill('SIGTERM');
    assert.equal(await exited, 0, output);
  });
});
