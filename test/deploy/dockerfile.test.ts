// dockerfile.test.ts — the root Dockerfile checked statically (no container engine here): base
// images, non-root user, curl, HEALTHCHECK against the bundled config's health route, exec-form
// entrypoint, production dependencies only, the GPU variant, and .dockerignore.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { expandEnv } from '../../src/config/env.ts';
import { readSurface } from './config-surface.ts';
import { all, copies, execForm, healthcheckUrl, imageChain, parseDockerfile, readDockerfile, stageNamed, substitute, workdir } from './dockerfile.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dockerfile = readDockerfile(`${root}Dockerfile`);
const cpu = imageChain(dockerfile);
const gpu = imageChain(dockerfile, { VARIANT: 'gpu' });
const bundled = readSurface(`${root}config/default.yaml`);

describe('Dockerfile (CPU, the default)', () => {
  it('is multi-stage and runs on the official Node 24 slim image', () => {
    assert.ok(dockerfile.stages.length >= 3, 'multi-stage');
    assert.match(cpu.image, /^node:24(\.[\d.]+)?-(bookworm-|trixie-)?slim$/);
    assert.match(substitute(stageNamed(dockerfile, 'deps').from, dockerfile.args), /^node:24/);
  });

  it('runs as a numeric non-root user', () => {
    const user = all(cpu.stages, 'USER').at(-1)?.args;
    assert.ok(user !== undefined, 'a USER instruction');
    const uid = user.split(':')[0]!;
    assert.match(uid, /^\d+$/, 'numeric, so runAsNonRoot can verify it');
    assert.notEqual(Number(uid), 0);
  });

  it('installs curl in every runtime base', () => {
    for (const chain of [cpu, gpu]) {
      assert.ok(all(chain.stages, 'RUN').some((r) => /apt-get install[^&]*\bcurl\b/.test(r.args)), `curl in ${chain.image}`);
    }
  });

  it('health-checks the bundled config\'s health route on its port', () => {
    const hc = all(cpu.stages, 'HEALTHCHECK');
    assert.equal(hc.length, 1);
    const { port, path } = healthcheckUrl(hc[0]!.args);
    assert.equal(port, bundled.rawPort, 'same port expression as server.port');
    for (const env of [{}, { AIP_HTTP_PORT: '7001' }, { SAGEMAKER_BIND_TO_PORT: '7002' }]) {
      assert.equal(Number(expandEnv(port, env)), readSurface(`${root}config/default.yaml`, env).server.port);
    }
    assert.ok(bundled.readinessRoutes.includes(path), `${path} is one of ${bundled.readinessRoutes.join(', ')}`);
  });

  it('starts with exec-form ENTRYPOINT ["infergate"] and CMD ["serve"], on port 8080', () => {
    assert.deepEqual(execForm(all(cpu.stages, 'ENTRYPOINT').at(-1)!.args), ['infergate']);
    assert.deepEqual(execForm(all(cpu.stages, 'CMD').at(-1)!.args), ['serve']);
    assert.deepEqual(all(cpu.stages, 'EXPOSE').map((e) => e.args), ['8080']);
    assert.equal(bundled.server.port, 8080);
  });

  it('puts infergate on PATH as the package\'s bin, executable', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string> };
    const link = all(cpu.stages, 'RUN').map((r) => /ln -s (\S+) \/usr\/local\/bin\/infergate\b/.exec(r.args)).find(Boolean);
    assert.ok(link, 'a symlink /usr/local/bin/infergate');
    const target = link![1]!;
    assert.equal(target, `${workdir(cpu.stages)}/${pkg.bin.infergate!.replace(/^\.\//, '')}`);
    assert.ok(statSync(`${root}${pkg.bin.infergate}`).mode & 0o111, 'bin file is executable');
    assert.match(readFileSync(`${root}${pkg.bin.infergate}`, 'utf8'), /^#!\/usr\/bin\/env node\n/);
  });

  it('ships production dependencies only, installed from the lockfile', () => {
    const deps = stageNamed(dockerfile, 'deps');
    const install = deps.instructions.filter((i) => i.keyword === 'RUN' && /\bnpm (ci|install)\b/.test(i.args));
    assert.equal(install.length, 1);
    assert.match(install[0]!.args, /npm ci --omit=dev/);
    assert.ok(copies(deps).some((c) => c.sources.includes('package-lock.json')));
    const final = cpu.stages[0]!;
    for (const c of copies(final)) {
      if (c.sources.some((s) => s.includes('node_modules'))) assert.equal(c.from, 'deps', 'node_modules only from the deps stage');
      assert.ok(!c.sources.includes('.'), 'no COPY of the whole context');
    }
  });

  it('copies only paths that exist, and everything the gateway needs at run time', () => {
    const final = cpu.stages[0]!;
    const fromContext = copies(final).filter((c) => c.from === undefined).flatMap((c) => c.sources);
    for (const src of fromContext) assert.ok(existsSync(`${root}${src}`), `${src} exists`);
    for (const needed of ['src/', 'bin/', 'config/', 'package.json']) assert.ok(fromContext.includes(needed), needed);
    // The bundled config's model repository, relative to WORKDIR.
    const repo = String(bundled.backends.local?.modelRepository ?? '');
    assert.ok(fromContext.some((s) => s.replace(/\/$/, '') === repo), `${repo} is copied`);
  });
});

describe('Dockerfile (GPU variant, --build-arg VARIANT=gpu)', () => {
  it('runs on an NVIDIA CUDA 12 runtime image with cuDNN', () => {
    assert.match(gpu.image, /^nvidia\/cuda:12\.\d+(\.\d+)?-cudnn-runtime-ubuntu\d+\.\d+$/);
    assert.deepEqual(execForm(all(gpu.stages, 'ENTRYPOINT').at(-1)!.args), ['infergate']);
    assert.ok(all(gpu.stages, 'COPY').some((c) => /--from=deps \/usr\/local\/bin\/node /.test(c.args)), 'node copied in');
  });

  it('installs the CUDA 12 execution provider with a flag onnxruntime-node knows', () => {
    const install = stageNamed(dockerfile, 'deps').instructions.find((i) => /npm ci/.test(i.args))!.args;
    assert.match(install, /^ONNXRUNTIME_NODE_INSTALL=skip npm ci --omit=dev/);
    assert.match(install, /"\$VARIANT" = gpu \]; then ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install; fi/);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { allowScripts: Record<string, boolean> };
    assert.equal(pkg.allowScripts['onnxruntime-node'], false, 'npm itself never runs the CUDA download');
    const require = createRequire(import.meta.url);
    const metadata = require('onnxruntime-node/script/install-metadata.js') as { requirements: Record<string, string[]> };
    assert.ok(metadata.requirements['linux/x64']!.includes('cuda12'), 'cuda12 is an install manifest of linux/x64');
  });
});

describe('.dockerignore', () => {
  it('keeps tests, bench, node_modules and .git out of the context', () => {
    const lines = readFileSync(`${root}.dockerignore`, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const p of ['test', 'bench', '**/node_modules', '.git']) assert.ok(lines.includes(p), p);
    for (const kept of ['src', 'bin', 'config', 'backends']) assert.ok(!lines.includes(kept), `${kept} stays in`);
    assert.ok(lines.includes('!deploy/byoc'), 'the BYOC recipes\' configs stay in');
  });
});

describe('the Dockerfile reader', () => {
  it('refuses shell-form entrypoints and reads continuations and stage chains', () => {
    assert.equal(execForm('infergate serve'), undefined);
    assert.equal(execForm('["infergate", 1]'), undefined);
    const f = parseDockerfile('ARG V=a\nFROM x:1 AS base-a\nRUN echo \\\n  # comment\n  hi\nFROM base-${V}\nUSER 0\n');
    assert.equal(f.stages[0]!.instructions[0]!.args, 'echo hi');
    assert.equal(imageChain(f).image, 'x:1');
    assert.equal(imageChain(f, { V: 'b' }).image, 'base-b');
    assert.throws(() => healthcheckUrl('CMD wget http://localhost/'), /does not curl/);
  });
});
