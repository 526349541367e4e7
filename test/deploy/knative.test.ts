// knative.test.ts — deploy/knative/service.yaml checked statically against the config its image
// serves there (config/cloudrun.yaml, chosen by K_SERVICE): the one port is PORT and speaks h2c,
// probes use its readiness and liveness routes, batching gets a concurrency above 1, the drain
// fits the revision's timeout, and the container runs non-root.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { configSurface } from './config-surface.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
type Doc = Record<string, any>;
const docs = parseAllDocuments(readFileSync(`${root}deploy/knative/service.yaml`, 'utf8')).map((d) => d.toJS() as Doc);
const service = docs[0]!;
const revision = service.spec.template.spec;
const container = revision.containers[0];
const port = container.ports[0];
const cloudrunText = readFileSync(`${root}config/cloudrun.yaml`, 'utf8');
// What the container sees there: Knative sets PORT from the container port, and K_* names.
const surface = configSurface(cloudrunText, { PORT: String(port.containerPort), K_SERVICE: service.metadata.name, K_REVISION: `${service.metadata.name}-00001` });

describe('the Knative Service', () => {
  it('is one Knative Serving Service with one container and one port', () => {
    assert.equal(docs.length, 1);
    assert.equal(service.apiVersion, 'serving.knative.dev/v1');
    assert.equal(service.kind, 'Service');
    assert.equal(revision.containers.length, 1);
    assert.equal(container.ports.length, 1);
  });

  it('lets K_SERVICE choose config/cloudrun.yaml: no --config, no INFERGATE_CONFIG', () => {
    const args: string[] = container.args ?? [];
    assert.ok(!args.some((a) => a.startsWith('--config')));
    assert.ok(!(container.env ?? []).some((e: Doc) => e.name === 'INFERGATE_CONFIG'));
    // (test/integration/cloudrun.test.ts shows K_SERVICE choosing the file in the real process.)
    assert.deepEqual(args, ['serve']);
    assert.equal(container.image, 'infergate');
  });

  it('serves on PORT, which Knative sets from the container port, and names the port h2c because the config speaks it', () => {
    assert.match(String(surface.rawPort), /\$\{PORT:-8080\}/);
    assert.equal(surface.server.port, port.containerPort);
    assert.equal(port.name, 'h2c');
    assert.equal(surface.server.h2c, true);
    assert.equal(surface.server.revision, `${service.metadata.name}-00001`);
  });

  it('probes the readiness and liveness routes of that config, on the serving port', () => {
    assert.ok(surface.readinessRoutes.includes(container.readinessProbe.httpGet.path));
    assert.ok(surface.livenessRoutes.includes(container.livenessProbe.httpGet.path));
    for (const probe of [container.readinessProbe, container.livenessProbe]) {
      assert.ok(probe.httpGet.port === undefined || probe.httpGet.port === port.containerPort);
    }
  });

  it('sends more than one request at a time to a pod whose model batches, and no more than its queue holds', () => {
    const batching = (surface.models.iris as { batching: { maxBatchSize: number; maxQueueRows: number } }).batching;
    assert.ok(revision.containerConcurrency > 1, 'batching needs concurrency above 1');
    assert.ok(revision.containerConcurrency <= batching.maxQueueRows);
    const target = Number(service.spec.template.metadata.annotations['autoscaling.knative.dev/target']);
    assert.ok(target > 0 && target <= revision.containerConcurrency);
  });

  it('gives requests and the drain room inside the revision timeout', () => {
    const timeoutMs = Number(String((surface.models.iris as { timeoutMs: string }).timeoutMs).replace(/s$/, '')) * 1000;
    assert.ok(revision.timeoutSeconds * 1000 >= timeoutMs);
    assert.ok(surface.server.drainSeconds + 2 <= 10, 'the drain fits Cloud Run\'s 10 s grace with room to close');
    assert.ok(surface.server.drainSeconds <= revision.timeoutSeconds);
  });

  it('runs non-root without privilege escalation or capabilities', () => {
    const sc = container.securityContext;
    assert.equal(sc.runAsNonRoot, true);
    assert.ok(sc.runAsUser > 0);
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual(sc.capabilities.drop, ['ALL']);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory);
  });
});
