// configs.test.ts — every deployment config is valid for `infergate check` (which needs the
// backend and frontend types registered), and each answers its platform on the platform's terms:
// port and routes from the platform's variables, body limit, timeout and drain inside its cut-offs.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseDuration, parseSize } from '../../src/config/units.ts';
import { readSurface } from './config-surface.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const main = `${root}src/main.ts`;

const deploymentConfigs = [
  ...readdirSync(`${root}config`).filter((f) => f.endsWith('.yaml') && f !== 'default.yaml').map((f) => `config/${f}`),
  'deploy/byoc/triton/infergate.yaml',
  'deploy/byoc/flask/infergate.yaml',
];

async function check(file: string, env: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [main, 'check', file], { env: { ...process.env, ...env } });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

describe('infergate check', () => {
  it('lists the five per-deployment configs', () => {
    for (const name of ['vertex', 'oci', 'sagemaker', 'gke', 'compose']) assert.ok(deploymentConfigs.includes(`config/${name}.yaml`), name);
  });

  for (const file of deploymentConfigs) {
    it(`accepts ${file}`, async () => {
      const { code, output } = await check(`${root}${file}`);
      assert.equal(code, 0, output);
    });
  }

  it('accepts config/vertex.yaml with the variables Vertex sets', async () => {
    const { code, output } = await check(`${root}config/vertex.yaml`, {
      AIP_HTTP_PORT: '8080', AIP_PREDICT_ROUTE: '/v1/endpoints/1/deployedModels/2:predict',
      AIP_HEALTH_ROUTE: '/v1/endpoints/1/deployedModels/2', AIP_STORAGE_URI: '',
    });
    assert.equal(code, 0, output);
  });

  // The multi-platform configs (the default and the BYOC images) also answer OCI's /predict
  // and /health: on Vertex their routes must be others, as deploy/README.md's commands give.
  for (const file of ['config/default.yaml', 'deploy/byoc/triton/infergate.yaml', 'deploy/byoc/flask/infergate.yaml']) {
    it(`${file}: accepts the Vertex routes the guide uses and refuses ones that collide with OCI's`, async () => {
      const vertex = { AIP_HTTP_PORT: '8080', AIP_PREDICT_ROUTE: '/vertex/predict', AIP_HEALTH_ROUTE: '/vertex/health', AIP_STORAGE_URI: '' };
      const ok = await check(`${root}${file}`, vertex);
      assert.equal(ok.code, 0, ok.output);
      const clash = await check(`${root}${file}`, { ...vertex, AIP_PREDICT_ROUTE: '/predict', AIP_HEALTH_ROUTE: '/health' });
      assert.equal(clash.code, 1, clash.output);
      assert.match(clash.output, /POST \/predict is claimed by both vertex and oci/);
    });
  }

  const dir = mkdtempSync(join(tmpdir(), 'infergate-deploy-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('refuses a broken copy of a deployment config (the check can fail)', async () => {
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, readFileSync(`${root}config/sagemaker.yaml`, 'utf8').replace('drainSeconds: 20', 'drainSeconds: soon'));
    const { code, output } = await check(broken);
    assert.equal(code, 1);
    assert.match(output, /drainSeconds/);
  });
});

describe('platform terms', () => {
  it('vertex.yaml: port and routes come from AIP_*, the model from AIP_STORAGE_URI', () => {
    const env = { AIP_HTTP_PORT: '7080', AIP_PREDICT_ROUTE: '/v1/e/1:predict', AIP_HEALTH_ROUTE: '/v1/e/1', AIP_STORAGE_URI: 'gs://b/m' };
    const s = readSurface(`${root}config/vertex.yaml`, env);
    assert.equal(s.server.port, 7080);
    assert.deepEqual(s.readinessRoutes, ['/v1/e/1']);
    assert.deepEqual(s.predictRoutes, ['/v1/e/1:predict']);
    assert.equal(s.backends.local!.modelRepository, 'gs://b/m');
    // Vertex sets AIP_STORAGE_URI to "" when the model has no artifactUri.
    assert.equal(readSurface(`${root}config/vertex.yaml`, { AIP_STORAGE_URI: '' }).backends.local!.modelRepository, 'backends/onnx');
  });

  it('oci.yaml: /predict and /health (remappable), the artifact mount, 10 MB, inside 60 s', () => {
    const s = readSurface(`${root}config/oci.yaml`);
    assert.deepEqual(s.readinessRoutes, ['/health']);
    assert.deepEqual(s.predictRoutes, ['/predict']);
    assert.equal(s.backends.local!.modelRepository, '/opt/ds/model/deployed_model');
    assert.equal(s.server.maxBodyBytes, parseSize('10mb'));
    assert.ok(parseDuration(s.models.iris!.timeoutMs)! < 60_000);
    const remapped = readSurface(`${root}config/oci.yaml`, { MODEL_DEPLOY_PREDICT_ENDPOINT: '/generate', MODEL_DEPLOY_HEALTH_ENDPOINT: '/ready' });
    assert.deepEqual([remapped.predictRoutes, remapped.readinessRoutes], [['/generate'], ['/ready']]);
  });

  it('sagemaker.yaml: /ping and /invocations on SAGEMAKER_BIND_TO_PORT, /opt/ml/model, 6 MB, inside 60 s and 30 s', () => {
    const s = readSurface(`${root}config/sagemaker.yaml`, { SAGEMAKER_BIND_TO_PORT: '8081' });
    assert.equal(s.server.port, 8081);
    assert.equal(readSurface(`${root}config/sagemaker.yaml`).server.port, 8080);
    assert.deepEqual(s.readinessRoutes, ['/ping']);
    assert.equal(s.backends.local!.modelRepository, '/opt/ml/model');
    assert.equal(s.server.maxBodyBytes, parseSize('6mb'));
    assert.ok(parseDuration(s.models.iris!.timeoutMs)! < 60_000);
    assert.ok(s.server.drainSeconds < 30, 'SageMaker kills 30 s after SIGTERM');
  });

  it('sagemaker.yaml in a batch transform job: the body limit, strategy and concurrency SageMaker sets', () => {
    const env = { SAGEMAKER_MAX_PAYLOAD_IN_MB: '20', SAGEMAKER_BATCH_STRATEGY: 'SINGLE_RECORD', SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '4' };
    const s = readSurface(`${root}config/sagemaker.yaml`, env);
    assert.equal(s.server.maxBodyBytes, parseSize('20mb'));
    assert.deepEqual(s.frontends.sagemaker!.batchTransform, { batchStrategy: 'SINGLE_RECORD', maxPayloadInMB: '20', maxConcurrentTransforms: '4' });
    const plain = readSurface(`${root}config/sagemaker.yaml`);
    assert.deepEqual(plain.frontends.sagemaker!.batchTransform, { batchStrategy: 'MULTI_RECORD', maxPayloadInMB: '6', maxConcurrentTransforms: '1' });
  });

  it('sagemaker-async.yaml: 1 GB bodies and answers, inside 3,600 s, drained inside 30 s', () => {
    const s = readSurface(`${root}config/sagemaker-async.yaml`);
    assert.equal(s.server.maxBodyBytes, parseSize('1gb'));
    assert.equal(parseSize(s.frontends.sagemaker!.maxResponseBytes as string), parseSize('1gb'));
    assert.ok(s.server.maxBufferedBytes >= parseSize('1gb')!);
    const timeout = parseDuration(s.models.iris!.timeoutMs)!;
    assert.ok(timeout > 900_000 && timeout < 3_600_000, `${timeout}`);
    assert.ok(s.server.requestTimeoutMs >= 60_000, 'a 1 GB body has time to arrive');
    assert.ok(s.server.drainSeconds < 30);
  });

  it('BYOC configs answer Vertex, OCI and SageMaker on the platform port', () => {
    for (const file of ['deploy/byoc/triton/infergate.yaml', 'deploy/byoc/flask/infergate.yaml']) {
      for (const [env, port] of [[{}, 8080], [{ AIP_HTTP_PORT: '7080' }, 7080], [{ SAGEMAKER_BIND_TO_PORT: '7081' }, 7081]] as const) {
        assert.equal(readSurface(`${root}${file}`, env).server.port, port, file);
      }
      const s = readSurface(`${root}${file}`);
      for (const route of ['/health', '/ping']) assert.ok(s.readinessRoutes.includes(route), `${file}: ${route}`);
      for (const route of ['/predict', '/invocations']) assert.ok(s.predictRoutes.includes(route), `${file}: ${route}`);
      const onVertex = readSurface(`${root}${file}`, { AIP_PREDICT_ROUTE: '/v1/e/1:predict', AIP_HEALTH_ROUTE: '/v1/e/1' });
      assert.ok(onVertex.predictRoutes.includes('/v1/e/1:predict') && onVertex.readinessRoutes.includes('/v1/e/1'));
      assert.equal(new Set(s.predictRoutes).size, s.predictRoutes.length, 'no two frontends share a route');
      // On SIGTERM the gateway drains, then stops the supervised server (SIGTERM, SIGKILL after
      // stopGraceSeconds, default 8): all of it before SageMaker's SIGKILL at 30 s.
      const spawn = Object.values(s.backends).map((b) => b.spawn as { stopGraceSeconds?: number } | undefined).find(Boolean);
      assert.ok(s.server.drainSeconds + (spawn?.stopGraceSeconds ?? 8) < 30, file);
    }
  });
});
