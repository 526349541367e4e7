// main.ts — the CLI: `serve` (default), `check FILE`, `schema`. Parses argv and hands over.

import './gateway/v8-flags.ts';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { Gateway } from './gateway.ts';
import { settleEarlyWorkers, startEarlyWorkers } from './gateway/early-workers.ts';
import type { Config } from './schema.ts';

// Nothing else is imported at the top, so that serve can start an ONNX worker first (it loads
// onnxruntime on another core meanwhile): the modules the config's validation needs, then, once
// the config is read, the gateway, its server and its pipeline (while a backend's prestart runs).
const cliModules = async () => {
  const [{ ConfigError }, schema, { loadPlugins }, log, payload, trace] = await Promise.all([
    import('./config/load.ts'), import('./schema.ts'), import('./gateway/plugins.ts'), import('./observe/log.ts'), import('./observe/payload-log.ts'), import('./observe/trace.ts')]);
  return { ConfigError, ...schema, loadPlugins, ...log, ...payload, ...trace };
};
const gatewayModules = () => Promise.all([import('./gateway.ts'), import('./config/watch.ts'), import('./gateway/config-worker.ts'), import('./server/lifecycle.ts')]);

const defaultConfig = fileURLToPath(new URL('../config/default.yaml', import.meta.url));
const cloudRunConfig = fileURLToPath(new URL('../config/cloudrun.yaml', import.meta.url));
const usage = `usage: infergate [serve] [--config FILE]
       infergate check FILE
       infergate schema [--markdown]

serve   runs the gateway with FILE, $INFERGATE_CONFIG, or the bundled config/default.yaml
        (config/cloudrun.yaml when $K_SERVICE says Cloud Run or Knative runs it)
check   validates FILE: exit 0 when valid, 1 with every problem listed
schema  prints the JSON Schema of the config file (--markdown: the README's config reference)`;

/**
 * configPath picks --config, then INFERGATE_CONFIG, then a bundled file: config/cloudrun.yaml
 * where K_SERVICE is set (Cloud Run and Knative set it in every container they run, and the
 * platform's contract — PORT, a 10 s grace, h2c — differs from the default's), else the default.
 */
export function configPath(args: string[], env: NodeJS.ProcessEnv): string {
  const i = args.indexOf('--config');
  if (i >= 0 && args[i + 1] !== undefined) return args[i + 1]!;
  const eq = args.find((a) => a.startsWith('--config='));
  if (eq !== undefined) return eq.slice('--config='.length);
  return env.INFERGATE_CONFIG || (env.K_SERVICE ? cloudRunConfig : defaultConfig);
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  const command = first === '--help' || first === '-h' ? 'help' : first === undefined || first.startsWith('-') ? 'serve' : first;
  const args = command === first || command === 'help' ? argv.slice(1) : argv;
  if (command === 'serve') return serve(configPath(args, process.env));
  const { ConfigError, jsonSchema, loadConfigFile, loadPlugins, silentLogger } = await cliModules();
  switch (command) {
    case 'schema':
      if (args.includes('--markdown')) process.stdout.write((await import('./reference.ts')).renderReference());
      else process.stdout.write(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
      return 0;
    case 'check': {
      // `check FILE`, or `check --config FILE` as serve takes it, or $INFERGATE_CONFIG.
      const file = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : configPath(args, process.env);
      let config;
      try {
        config = loadConfigFile(file);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      // Build what serve would build, short of starting it: frontends claiming one route (an
      // AIP_PREDICT_ROUTE equal to OCI's /predict) or a rawBackend of the wrong kind fail here too.
      try {
        await loadPlugins(config);
        const [{ Gateway }] = await gatewayModules();
        await new Gateway(config, { log: silentLogger }).close();
      } catch (err) {
        process.stderr.write(`${file}: ${(err as Error).message}\n`);
        return 1;
      }
      process.stdout.write(`${file}: valid\n`);
      return 0;
    }
    case 'help': case '--help': case '-h':
      process.stdout.write(`${usage}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}

async function serve(file: string): Promise<number> {
  // The start's phases, for the cold-start benchmark (bench/coldstart.ts) and for anyone reading
  // why a scale-from-zero request waited: performance.now() counts from the process's start.
  // CPU time too (this thread's and the process's, in ms), which a busy machine inflates far less than wall time.
  const cpuMs = (): number => { const u = process.cpuUsage(); return Math.round((u.user + u.system) / 100) / 10; };
  await startEarlyWorkers(file);
  const phases = { nodeMs: performance.nodeTiming.bootstrapComplete, modulesMs: 0, schemasMs: 0, configMs: 0, pluginsMs: 0, buildMs: 0, listenMs: 0, backendsMs: 0, cpuAtModulesMs: cpuMs(), cpuAtStartedMs: 0 };
  let mark = performance.now();
  const lap = (key: keyof typeof phases): void => { const now = performance.now(); phases[key] = Math.round((now - mark) * 10) / 10; mark = now; };
  phases.modulesMs = Math.round((mark - phases.nodeMs) * 10) / 10;
  phases.nodeMs = Math.round(phases.nodeMs * 10) / 10;
  const { ConfigError, loadConfigFile, loadPlugins, createLogger, startPayloadLog, stopPayloadLog, startTracing, stopTracing } = await cliModules();
  lap('schemasMs');
  let config: Config;
  try {
    config = loadConfigFile(file);
    lap('configMs');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`infergate: the config is not valid:\n${err.message}\n`);
    return 1;
  }
  const log = createLogger(config.server.logLevel, undefined, config.server.revision);
  // Only the backends and frontends the config names are imported (gateway/plugins.ts), and they
  // begin their start now (prestart), while the gateway's modules load.
  await loadPlugins(config, { prestart: true });
  settleEarlyWorkers(config);
  const [{ Gateway }, { watchConfig }, { loadOffThread }, { installSignalHandlers }] = await gatewayModules();
  lap('pluginsMs');
  let gateway: Gateway;
  try {
    // A reload reads the file on a worker thread: the event loop keeps answering meanwhile.
    gateway = new Gateway(config, { log, reloadConfig: () => loadOffThread(file) });
    lap('buildMs');
  } catch (err) {
    log.fatal({ error: (err as Error).message }, `cannot build the gateway: ${(err as Error).message}`);
    log.flush();
    return 1;
  }
  try {
    // Before the first request: both are read at start only (a reload does not change them).
    if (await startTracing(config.tracing)) log.info({ serviceName: process.env.OTEL_SERVICE_NAME ?? config.tracing.serviceName }, 'tracing on (OTLP/HTTP)');
    await startPayloadLog(config.payloadLog, log);
  } catch (err) {
    log.fatal({ error: (err as Error).message }, `cannot start tracing or payload logging: ${(err as Error).message}`);
    log.flush();
    return 1;
  }
  log.info({ config: file, version: config.version }, 'starting');
  // SIGHUP always reloads; file changes too when server.watchConfig is on (the directory is
  // watched, so a Kubernetes ConfigMap's symlink swap counts).
  const watcher = watchConfig({ file, reload: () => gateway.reload(), log, watchFile: config.server.watchConfig, sighup: true });
  installSignalHandlers({
    get servers() { return gateway.listeners; },
    drainSeconds: config.server.drainSeconds,
    drainDelaySeconds: config.server.drainDelaySeconds,
    log,
    startDraining: () => gateway.startDraining(),
    closeBackends: async () => { watcher.close(); await gateway.close(); await Promise.allSettled([stopPayloadLog(), stopTracing()]); },
    exit: (code) => { log.flush(); process.exitCode = code; setTimeout(() => process.exit(code), 50); },
  });
  try {
    // Listen first so platform liveness probes (TCP) pass while models load; readiness says 503.
    await gateway.listen();
    lap('listenMs');
    warnIfAdminExposed(config, log);
    await gateway.start();
    lap('backendsMs');
    phases.cpuAtStartedMs = cpuMs();
    log.info({ ready: gateway.ready(), startup: phases }, 'started');
  } catch (err) {
    log.fatal({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, `cannot start: ${(err as Error).message}`);
    // The listeners opened before the start failed (a model that does not load): close them
    // and everything else, or the process would linger listening but never ready.
    watcher.close();
    for (const server of gateway.listeners) {
      server.close();
      server.closeAllConnections();
    }
    await gateway.close();
    log.flush();
    setTimeout(() => process.exit(1), 50);
    return 1;
  }
  return -1; // keep running
}

/**
 * exposedAdmin says where the admin endpoints (POST /admin/reload included) listen off
 * loopback with no adminToken, or undefined when they do not.
 */
function exposedAdmin(server: Config['server']): string | undefined {
  if (server.adminToken !== undefined) return undefined;
  const host = server.adminPort === 'same' ? server.host : server.adminHost;
  const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/i.test(host);
  return loopback ? undefined : `${host}:${server.adminPort === 'same' ? server.port : server.adminPort ?? (server.portRange === undefined ? 9090 : server.portRange)}`;
}

// A warning rather than a refusal: Prometheus in another pod or container must reach /metrics,
// so the shipped configs listen on 0.0.0.0, and a deployment that keeps the port in-cluster
// (deploy/k8s/networkpolicy.yaml) or private is legitimate; refusing to start would break
// each of them on upgrade. So: one loud line at start, and the README says the same.
function warnIfAdminExposed(config: Config, log: Logger): void {
  const where = exposedAdmin(config.server);
  if (where === undefined) return;
  log.warn({ adminAddress: where, security: 'admin-exposed' },
    `WARNING: the admin endpoints (/metrics, /admin/status, POST /admin/reload) listen on ${where} without server.adminToken: ` +
    'anything that reaches this address can reload the config. Set adminToken, listen on 127.0.0.1, or restrict the port (deploy/k8s/networkpolicy.yaml).');
}

// An exception nothing caught leaves the process in a state nobody reasoned about (a half-made
// answer, a counter never decremented, a timer never cleared): log it, then exit non-zero so
// the platform (Kubernetes, SageMaker, Vertex) restarts a clean process. It is never swallowed.
process.on('uncaughtException', (thrown: unknown) => {
  const err = thrown instanceof Error ? thrown : new Error(String(thrown));
  process.stderr.write(`${JSON.stringify({ severity: 'CRITICAL', message: `uncaught exception: ${err.message}; exiting`, stack: err.stack })}\n`);
  process.exit(1);
});

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
