// k8s.test.ts — deploy/k8s checked statically and against the config its ConfigMap carries: probe
// routes and ports, drain timings versus the grace period, non-root read-only containers, the
// ConfigMap mount that lets hot reload work, and Service / HPA / PDB wiring.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { configSurface } from './config-surface.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const k8s = `${root}deploy/k8s`;

type Doc = Record<string, any>;
const kustomization = parseAllDocuments(readFileSync(`${k8s}/kustomization.yaml`, 'utf8'))[0]!.toJS() as { resources: string[] };
const docs: Doc[] = kustomization.resources.flatMap((r) => parseAllDocuments(readFileSync(`${k8s}/${r}`, 'utf8')).map((d) => d.toJS() as Doc));
const byKind = (kind: string): Doc => {
  const found = docs.filter((d) => d.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

const deployment = byKind('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers.find((c: Doc) => c.name === 'infergate');
const configMap = byKind('ConfigMap');
const configKey = Object.keys(configMap.data)[0]!;
const surface = configSurface(configMap.data[configKey]);

/** portNumber resolves a probe or Service port (number or container port name). */
function portNumber(port: number | string): number {
  if (typeof port === 'number') return port;
  const named = container.ports.find((p: Doc) => p.name === port);
  assert.ok(named, `container port named ${port}`);
  return named.containerPort;
}

describe('kustomization', () => {
  it('lists resources that exist and names the image the Deployment uses', () => {
    for (const r of kustomization.resources) assert.ok(existsSync(`${k8s}/${r}`), r);
    const images = (parseAllDocuments(readFileSync(`${k8s}/kustomization.yaml`, 'utf8'))[0]!.toJS() as { images: Array<{ name: string }> }).images;
    assert.ok(images.some((i) => i.name === container.image));
  });
});

describe('the ConfigMap', () => {
  it('is config/gke.yaml verbatim and valid in shape', () => {
    assert.equal(configMap.data[configKey], readFileSync(`${root}config/gke.yaml`, 'utf8'));
  });

  it('is mounted as a directory (never subPath), the path the container is started with, with hot reload on', () => {
    const volume = pod.volumes.find((v: Doc) => v.configMap?.name === configMap.metadata.name);
    assert.ok(volume, 'a volume of the ConfigMap');
    const mount = container.volumeMounts.find((m: Doc) => m.name === volume.name);
    assert.equal(mount.subPath, undefined, 'subPath mounts never see ConfigMap updates');
    const args: string[] = container.args;
    assert.equal(args[0], 'serve');
    assert.equal(args[args.indexOf('--config') + 1], `${mount.mountPath}/${configKey}`);
    assert.equal(surface.server.watchConfig, true);
    assert.ok(!/generateName|configMapGenerator/.test(readFileSync(`${k8s}/kustomization.yaml`, 'utf8')),
      'no name hash: an edit must reach running pods, not roll them');
  });
});

describe('probes and ports', () => {
  it('readiness and startup probes use a readiness route on the platform port', () => {
    for (const probe of [container.readinessProbe, container.startupProbe]) {
      assert.ok(surface.readinessRoutes.includes(probe.httpGet.path), probe.httpGet.path);
      assert.equal(portNumber(probe.httpGet.port), surface.server.port);
    }
  });

  it('the liveness probe uses the liveness route (the process, not its dependencies)', () => {
    const probe = container.livenessProbe;
    assert.ok(surface.livenessRoutes.includes(probe.httpGet.path), probe.httpGet.path);
    assert.equal(portNumber(probe.httpGet.port), surface.server.port);
  });

  it('the startup probe allows time for model loading before liveness counts', () => {
    const p = container.startupProbe;
    assert.ok(p.periodSeconds * p.failureThreshold >= 120);
  });

  it('exposes the admin port on all interfaces for Prometheus, and the Service targets the platform port', () => {
    assert.equal(portNumber('admin'), surface.server.adminPort);
    assert.equal(surface.server.adminHost, '0.0.0.0');
    const annotations = deployment.spec.template.metadata.annotations;
    assert.equal(Number(annotations['prometheus.io/port']), surface.server.adminPort);
    const service = byKind('Service');
    assert.deepEqual(service.spec.ports.map((p: Doc) => portNumber(p.targetPort)), [surface.server.port]);
  });
});

describe('shutdown timings', () => {
  it('preStop delay + drainSeconds fit inside terminationGracePeriodSeconds with room to close backends', () => {
    const preStop = container.lifecycle.preStop;
    const sleep = preStop.sleep?.seconds ?? Number(preStop.exec.command.at(-1));
    assert.ok(sleep > 0 && sleep < 30);
    const { drainSeconds, drainDelaySeconds } = surface.server;
    assert.ok(drainDelaySeconds <= drainSeconds);
    assert.ok(pod.terminationGracePeriodSeconds >= sleep + drainSeconds + 5,
      `grace ${pod.terminationGracePeriodSeconds} s < preStop ${sleep} s + drain ${drainSeconds} s + 5 s`);
  });
});

describe('security', () => {
  it('every container runs non-root, without privilege escalation, on a read-only root filesystem', () => {
    const all = [...pod.containers, ...(pod.initContainers ?? [])];
    assert.ok(all.length > 0);
    for (const c of all) {
      const sc = { ...pod.securityContext, ...c.securityContext };
      assert.equal(sc.runAsNonRoot, true, c.name);
      assert.ok(sc.runAsUser === undefined || sc.runAsUser > 0, c.name);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'], c.name);
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory, `${c.name} resource requests`);
    }
    // A writable /tmp, since the root filesystem is read-only.
    assert.ok(container.volumeMounts.some((m: Doc) => m.mountPath === '/tmp'));
  });
});

describe('scaling and disruption', () => {
  const podLabels = deployment.spec.template.metadata.labels;
  const matches = (selector: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => podLabels[k] === v);

  it('the Service, Deployment and PDB select the pods', () => {
    assert.ok(matches(byKind('Service').spec.selector));
    assert.ok(matches(deployment.spec.selector.matchLabels));
    const pdb = byKind('PodDisruptionBudget');
    assert.ok(matches(pdb.spec.selector.matchLabels));
    assert.equal(deployment.spec.replicas, undefined, 'the HPA owns the replica count');
    assert.ok(pdb.spec.minAvailable < byKind('HorizontalPodAutoscaler').spec.minReplicas, 'a node drain can still proceed');
  });

  it('the HPA scales the Deployment on CPU, with a queue-rows variant on an exported metric', () => {
    const hpa = byKind('HorizontalPodAutoscaler');
    assert.equal(hpa.spec.scaleTargetRef.name, deployment.metadata.name);
    assert.ok(hpa.spec.metrics.some((m: Doc) => m.type === 'Resource' && m.resource.name === 'cpu'));
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.minReplicas <= hpa.spec.maxReplicas);
    const text = readFileSync(`${k8s}/hpa.yaml`, 'utf8');
    const custom = /^\s*#\s*name: (\w+)$/m.exec(text)?.[1];
    assert.equal(custom, 'infergate_queue_rows');
    assert.match(readFileSync(`${root}src/observe/metrics.ts`, 'utf8'), new RegExp(`name: '${custom}'`));
  });
});

describe('the NetworkPolicy', () => {
  // The admin port listens on 0.0.0.0 with no adminToken (config/gke.yaml): only the labelled
  // Prometheus scraper may reach it; the platform port stays open.
  const policy = byKind('NetworkPolicy');
  const podLabels = deployment.spec.template.metadata.labels;
  const rules: Doc[] = policy.spec.ingress;
  const rulesFor = (port: number): Doc[] => rules.filter((r) => (r.ports ?? []).some((p: Doc) => portNumber(p.port) === port));

  it('selects the gateway pods and governs their ingress', () => {
    assert.ok(Object.entries(policy.spec.podSelector.matchLabels as Record<string, string>).every(([k, v]) => podLabels[k] === v));
    assert.deepEqual(policy.spec.policyTypes, ['Ingress']);
    assert.ok(rules.every((r) => Array.isArray(r.ports) && r.ports.length > 0), 'no rule opens every port');
  });

  it('lets only a labelled Prometheus (namespace and pod selector together) reach the admin port', () => {
    const admin = rulesFor(Number(surface.server.adminPort));
    assert.equal(admin.length, 1, 'one rule names the admin port');
    const from: Doc[] = admin[0]!.from;
    assert.ok(Array.isArray(from) && from.length > 0, 'the admin rule has sources');
    for (const peer of from) {
      // Both selectors in one peer: pods of that name in those namespaces, not either.
      assert.ok(Object.keys(peer.namespaceSelector?.matchLabels ?? {}).length > 0, JSON.stringify(peer));
      assert.equal(peer.podSelector?.matchLabels?.['app.kubernetes.io/name'], 'prometheus', JSON.stringify(peer));
      assert.equal(peer.ipBlock, undefined);
    }
    assert.ok(!admin[0]!.ports.some((p: Doc) => portNumber(p.port) === surface.server.port), 'the platform port is not in the admin rule');
  });

  it('leaves the platform port open to every client', () => {
    const platform = rulesFor(surface.server.port);
    assert.ok(platform.some((r) => r.from === undefined), 'a rule without sources opens the platform port');
    assert.ok(!platform.some((r) => r.ports.some((p: Doc) => portNumber(p.port) === Number(surface.server.adminPort))));
  });
});

describe('examples', () => {
  it('the GKE HealthCheckPolicy probes the same route and port as the readiness probe', () => {
    const examples = parseAllDocuments(readFileSync(`${k8s}/examples/gateway.yaml`, 'utf8')).map((d) => d.toJS() as Doc);
    const policy = examples.find((d) => d.kind === 'HealthCheckPolicy')!;
    const check = policy.spec.default.config.httpHealthCheck;
    assert.equal(check.requestPath, container.readinessProbe.httpGet.path);
    assert.equal(check.port, surface.server.port);
    const route = examples.find((d) => d.kind === 'HTTPRoute')!;
    assert.equal(route.spec.rules[0].backendRefs[0].name, byKind('Service').metadata.name);
  });
});
