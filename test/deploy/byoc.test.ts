// byoc.test.ts — the one-container BYOC recipes (deploy/byoc/triton, deploy/byoc/flask) checked
// statically: base image, Node 24 added, infergate as exec-form entrypoint supervising the model
// server through a backend's spawn block, the config baked in where INFERGATE_CONFIG points, and
// every path the spawned server needs present in the image.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { expandEnv } from '../../src/config/env.ts';
import { readSurface } from './config-surface.ts';
import { all, copies, envOf, execForm, healthcheckUrl, imageChain, readDockerfile, stageNamed, substitute, workdir } from './dockerfile.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

const recipes = [
  { name: 'triton', base: /^nvcr\.io\/nvidia\/tritonserver:\d{2}\.\d{2}-py3$/, server: 'tritonserver' },
  { name: 'flask', base: /^python:3\.\d+-slim/, server: 'gunicorn' },
];

for (const recipe of recipes) {
  describe(`deploy/byoc/${recipe.name}`, () => {
    const dockerfile = readDockerfile(`${root}deploy/byoc/${recipe.name}/Dockerfile`);
    const chain = imageChain(dockerfile);
    const final = chain.stages[0]!;
    const env = envOf(chain.stages);
    const dir = workdir(chain.stages);
    const inImage = copies(final).filter((c) => c.from === undefined)
      .map((c) => ({ source: c.sources[0]!, dest: c.dest.startsWith('/') ? c.dest : `${dir}/${c.dest.replace(/^\.\//, '')}` }));
    const configCopy = inImage.find((c) => c.dest === env.INFERGATE_CONFIG);
    const surface = readSurface(`${root}${configCopy?.source ?? 'missing'}`);

    it(`builds on the ${recipe.name} image and adds Node 24 from the official image`, () => {
      assert.match(chain.image, recipe.base);
      assert.match(substitute(stageNamed(dockerfile, 'deps').from, dockerfile.args), /^node:24/);
      assert.ok(copies(final).some((c) => c.from === 'deps' && c.sources[0] === '/usr/local/bin/node'));
      assert.ok(all([stageNamed(dockerfile, 'deps')], 'RUN').some((r) => /npm ci --omit=dev/.test(r.args)));
    });

    it('bakes its config in where INFERGATE_CONFIG points', () => {
      assert.ok(configCopy, `a COPY to ${env.INFERGATE_CONFIG}`);
      assert.equal(configCopy!.source, `deploy/byoc/${recipe.name}/infergate.yaml`);
    });

    it('runs `infergate serve` as a non-root PID 1, with curl for OCI', () => {
      assert.deepEqual(execForm(all([final], 'ENTRYPOINT').at(-1)!.args), ['infergate']);
      assert.deepEqual(execForm(all([final], 'CMD').at(-1)!.args), ['serve']);
      assert.match(all([final], 'USER').at(-1)!.args, /^[1-9]\d*(:\d+)?$/);
      assert.ok(all([final], 'RUN').some((r) => /install[^&]*\bcurl\b/.test(r.args)));
      assert.ok(all([final], 'RUN').some((r) => r.args.includes(`ln -s ${dir}/bin/infergate.js /usr/local/bin/infergate`)));
    });

    it(`supervises ${recipe.server} through a backend's spawn block, on a local port`, () => {
      const spawned = Object.values(surface.backends).filter((b) => b.spawn !== undefined);
      assert.equal(spawned.length, 1);
      const backend = spawned[0]!;
      const spawn = backend.spawn as { command: string[]; cwd?: string; env?: Record<string, string> };
      assert.equal(spawn.command[0], recipe.server);
      const url = new URL(String(backend.url));
      assert.equal(url.hostname, '127.0.0.1', 'the model server is not exposed beside the gateway');
      assert.notEqual(Number(url.port), surface.server.port);
      // Told to listen on {port}: the url's port at first start, a port of server.portRange when
      // that is set (SageMaker's safe range), a free one for each process a reload starts.
      const bind = spawn.command.join(' ') + JSON.stringify(spawn.env ?? {});
      assert.ok(bind.includes('{port}'), 'the server is told to listen on {port}');
      const onSageMaker = readSurface(`${root}${configCopy!.source}`, { SAGEMAKER_SAFE_PORT_RANGE: '23000-23999' });
      assert.equal(onSageMaker.server.portRange, '23000-23999', 'the port range is SageMaker\'s safe range when it gives one');
      assert.equal(surface.server.portRange, undefined);
      // Paths the spawned server needs come from COPY instructions.
      const paths = [spawn.cwd, ...spawn.command.map((a) => /^--model-repository=(\/.*)$/.exec(a)?.[1])].filter((p): p is string => p !== undefined);
      for (const p of paths) {
        const copied = inImage.find((c) => p === c.dest.replace(/\/$/, '') || p.startsWith(c.dest));
        assert.ok(copied, `${p} is copied into the image`);
        assert.ok(existsSync(`${root}${copied!.source}`), copied!.source);
      }
    });

    it('health-checks a readiness route of its config on the platform port', () => {
      const { port, path } = healthcheckUrl(all([final], 'HEALTHCHECK')[0]!.args);
      assert.equal(port, surface.rawPort);
      assert.equal(Number(expandEnv(port, {})), 8080);
      assert.ok(surface.readinessRoutes.includes(path));
      assert.deepEqual(all([final], 'EXPOSE').map((e) => e.args), ['8080']);
    });
  });
}

describe('deploy/byoc/triton model repository', () => {
  it('the spawned Triton defaults to the bundled repository, whose model file is the ONNX repository\'s', () => {
    const surface = readSurface(`${root}deploy/byoc/triton/infergate.yaml`);
    const command = (surface.backends.triton!.spawn as { command: string[] }).command;
    assert.ok(command.includes('--model-repository=/opt/infergate/backends/triton'));
    const onVertex = readSurface(`${root}deploy/byoc/triton/infergate.yaml`, { AIP_STORAGE_URI: 'gs://b/triton' });
    assert.ok((onVertex.backends.triton!.spawn as { command: string[] }).command.includes('--model-repository=gs://b/triton'));
    const dockerfile = readFileSync(`${root}deploy/byoc/triton/Dockerfile`, 'utf8');
    assert.match(dockerfile, /COPY backends\/onnx\/ \.\/backends\/onnx\//, 'the link target is in the image');
  });
});
