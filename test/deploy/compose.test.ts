// compose.test.ts — deploy/compose checked statically and against the config it mounts: service
// structure, healthchecks and depends_on conditions, the gateway's port, health route and admin
// port, the model repositories Triton and TF Serving see, Prometheus targets and Grafana provisioning.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, lstatSync } from 'node:fs';
import { dirname, join, posix, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { readSurface } from './config-surface.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const composeDir = `${root}deploy/compose`;
const compose = parse(readFileSync(`${composeDir}/compose.yaml`, 'utf8')) as { services: Record<string, Service> };
const services = compose.services;

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[]; interval: string; timeout: string; retries: number };
}

/** hostPath maps a path inside a service's container to the repository file its bind mount shows. */
function hostPath(service: Service, containerPath: string): string | undefined {
  for (const v of service.volumes ?? []) {
    const [src, dest] = v.split(':') as [string, string];
    if (!src.startsWith('.')) continue;
    if (containerPath === dest || containerPath.startsWith(`${dest}/`)) return resolve(composeDir, src) + containerPath.slice(dest.length);
  }
  return undefined;
}

function flag(args: string[] | undefined, name: string): string | undefined {
  return args?.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

const gateway = services.infergate!;
const configInContainer = gateway.command![gateway.command!.indexOf('--config') + 1]!;
const configFile = hostPath(gateway, configInContainer)!;
const surface = readSurface(configFile);

describe('compose.yaml structure', () => {
  it('has the gateway, Triton, TF Serving, Prometheus and Grafana', () => {
    assert.deepEqual(Object.keys(services).sort(), ['grafana', 'infergate', 'prometheus', 'tfserving', 'triton']);
    assert.match(services.triton!.image!, /^nvcr\.io\/nvidia\/tritonserver:/);
    assert.match(services.tfserving!.image!, /^tensorflow\/serving:/);
    assert.equal(resolve(composeDir, gateway.build!.context, gateway.build!.dockerfile), `${root}Dockerfile`);
  });

  it('gives every server a healthcheck and waits on service_healthy', () => {
    for (const name of ['infergate', 'triton', 'tfserving', 'prometheus']) {
      const test = services[name]!.healthcheck?.test;
      assert.ok(Array.isArray(test) && test[0] === 'CMD', `${name}: exec-form healthcheck`);
    }
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        assert.ok(services[dep], `${name} depends on a defined service ${dep}`);
        assert.equal(cond.condition, 'service_healthy', `${name} → ${dep}`);
        // A dependency behind a profile must be optional, or `docker compose up` refuses to start.
        if (services[dep]!.profiles !== undefined) assert.equal(cond.required, false, `${name} → ${dep} is optional`);
      }
    }
    assert.ok(gateway.depends_on?.triton, 'the gateway starts after Triton is healthy');
  });
});

describe('the gateway service agrees with the config it mounts', () => {
  it('mounts a config folder that exists, holding the named config', () => {
    assert.ok(existsSync(configFile), configFile);
    assert.equal(configFile, `${root}config/compose.yaml`);
  });

  it('health-checks a readiness route on the configured port', () => {
    const url = new URL(gateway.healthcheck!.test.at(-1)!);
    assert.equal(Number(url.port), surface.server.port);
    assert.ok(surface.readinessRoutes.includes(url.pathname), `${url.pathname} in ${surface.readinessRoutes.join(', ')}`);
  });

  it('publishes the platform port and the admin port, and the admin port listens beyond localhost', () => {
    const published = (gateway.ports ?? []).map((p) => Number(p.split(':').at(-1)));
    assert.ok(published.includes(surface.server.port));
    assert.ok(surface.server.adminPort !== undefined, 'a separate admin port');
    assert.ok(published.includes(Number(surface.server.adminPort)));
    assert.equal(surface.server.adminHost, '0.0.0.0', 'Prometheus scrapes from another container');
  });

  it('publishes the admin port (no adminToken) on the host\'s loopback only', () => {
    assert.equal(surface.server.adminToken, undefined, 'if config/compose.yaml gains a token, this may open up');
    const admin = (gateway.ports ?? []).filter((p) => Number(p.split(':').at(-1)) === Number(surface.server.adminPort));
    assert.equal(admin.length, 1);
    assert.match(admin[0]!, /^127\.0\.0\.1:\d+:\d+$/, `published as ${admin[0]}: reachable from the whole network`);
  });

  it('reaches the backends by service name and port', () => {
    const triton = new URL(String(surface.backends.triton!.url));
    assert.equal(triton.hostname, 'triton');
    assert.match(services.triton!.healthcheck!.test.join(' '), new RegExp(`/dev/tcp/127\\.0\\.0\\.1/${triton.port}\\b`));
    const tfs = new URL(String(surface.backends.tfs!.url));
    assert.equal(tfs.hostname, 'tfserving');
    assert.equal(flag(services.tfserving!.command, '--rest_api_port'), tfs.port);
  });

  it('serves the same model from all three backends, a split being a weight change', () => {
    const targets = surface.models.iris!.targets as Array<{ backend: string; model: string; weight: number }>;
    assert.deepEqual(targets.map((t) => t.backend).sort(), ['local', 'tfs', 'triton']);
    assert.ok(targets.every((t) => t.model === 'iris'));
    assert.equal(targets.filter((t) => t.weight > 0).length, 1);
    assert.ok(targets.find((t) => t.weight > 0)!.backend !== 'tfs', 'TF Serving, behind a profile, carries no traffic by default');
  });
});

describe('the model repositories the servers see', () => {
  it('Triton: the mounted repository has iris with a model file that resolves inside the mount', () => {
    const repoInContainer = flag(services.triton!.command, '--model-repository')!;
    const repo = hostPath(services.triton!, repoInContainer)!;
    assert.equal(repo, `${root}backends/triton`);
    assert.ok(existsSync(`${repo}/iris/config.pbtxt`));
    const model = `${repo}/iris/1/model.onnx`;
    assert.ok(lstatSync(model).isSymbolicLink(), 'a link to the ONNX repository, not a copy');
    assert.ok(existsSync(model), `the link resolves: ${resolve(dirname(model), readlinkSync(model))}`);
    const target = posix.join(posix.dirname(`${repoInContainer}/iris/1/model.onnx`), readlinkSync(model));
    assert.ok(hostPath(services.triton!, target) !== undefined, `${target} is inside a mount of the triton service`);
    assert.equal(hostPath(services.triton!, target), resolve(dirname(model), readlinkSync(model)));
  });

  it('TF Serving: the model config names iris under the mounted folder', () => {
    const configPath = flag(services.tfserving!.command, '--model_config_file')!;
    const file = hostPath(services.tfserving!, configPath)!;
    assert.equal(file, `${root}backends/tfserving/models.config`);
    const basePath = /base_path:\s*"([^"]+)"/.exec(readFileSync(file, 'utf8'))![1]!;
    assert.equal(hostPath(services.tfserving!, basePath), `${root}backends/tfserving/iris`);
    assert.match(readFileSync(`${root}backends/tfserving/README.md`, 'utf8'), /cannot load an ONNX file/);
  });
});

describe('Prometheus and Grafana', () => {
  it('Prometheus scrapes the gateway\'s admin port at /metrics', () => {
    const prom = parse(readFileSync(`${composeDir}/prometheus.yml`, 'utf8')) as {
      scrape_configs: Array<{ job_name: string; metrics_path?: string; static_configs: Array<{ targets: string[] }> }>;
    };
    const job = prom.scrape_configs.find((j) => j.job_name === 'infergate')!;
    assert.equal(job.metrics_path ?? '/metrics', '/metrics');
    assert.deepEqual(job.static_configs[0]!.targets, [`infergate:${surface.server.adminPort}`]);
    const mount = services.prometheus!.volumes!.find((v) => v.startsWith('./prometheus.yml:'));
    assert.ok(mount?.includes('/etc/prometheus/prometheus.yml'));
  });

  it('Grafana provisions the Prometheus datasource and loads deploy/grafana/infergate.json', () => {
    const grafana = services.grafana!;
    const providers = parse(readFileSync(`${composeDir}/grafana/dashboards.yaml`, 'utf8')) as { providers: Array<{ options: { path: string } }> };
    const dashboards = hostPath(grafana, providers.providers[0]!.options.path)!;
    assert.ok(existsSync(join(dashboards, 'infergate.json')));
    const datasources = parse(readFileSync(`${composeDir}/grafana/datasources.yaml`, 'utf8')) as { datasources: Array<{ uid: string; url: string }> };
    const dashboard = JSON.parse(readFileSync(join(dashboards, 'infergate.json'), 'utf8')) as { templating: { list: Array<{ name: string; current?: { value: string } }> } };
    const dsVar = dashboard.templating.list.find((v) => v.name === 'datasource')!;
    assert.equal(dsVar.current!.value, datasources.datasources[0]!.uid);
    assert.equal(new URL(datasources.datasources[0]!.url).hostname, 'prometheus');
    for (const v of grafana.volumes!) assert.ok(existsSync(resolve(composeDir, v.split(':')[0]!)), v);
  });
});
