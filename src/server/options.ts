// options.ts — the `server` block of the config: listener, limits and lifecycle.

import { z } from 'zod';
import { portRangeSchema } from '../config/port-range.ts';
import { duration, size } from '../config/units.ts';

const port = z.coerce.number().int().min(0).max(65535);

/** serverSchema is the config's `server` block. */
export const serverSchema = z.strictObject({
  host: z.string().default('0.0.0.0').describe('Address to listen on; platforms require 0.0.0.0.'),
  port: port.default(8080).describe('Platform port: ${AIP_HTTP_PORT} on Vertex, ${SAGEMAKER_BIND_TO_PORT} on SageMaker, ${PORT} on Cloud Run and Knative, server_port on OCI.'),
  adminPort: z.union([port, z.literal('same')]).optional().describe('Port for /metrics, /admin/* and the status page (kept off the platform port so a public endpoint never exposes them); "same" serves them on the main port. Omitted: 9090, or the first free port of portRange when that is set.'),
  portRange: portRangeSchema.describe('Ports the gateway may take besides `port`, "LOW-HIGH" (SageMaker: ${SAGEMAKER_SAFE_PORT_RANGE}); "" = none. When set, an omitted adminPort and each spawned backend\'s {port} come from it.'),
  adminHost: z.string().default('127.0.0.1').describe('Address the admin port listens on.'),
  adminToken: z.string().optional().describe('Bearer token required on /metrics and /admin/* when set (Prometheus then needs it as its scrape bearer token). Without it, an admin port off loopback is warned about at start.'),
  maxBodyBytes: size.prefault('10mb').describe('Largest request body (e.g. 10mb, 512kb); larger → 413 before the body is read. A gzip or deflate body is bounded decoded too.'),
  maxBufferedBytes: size.prefault('256mb').describe('Most bytes of backend answers held in memory at once, over all calls; a call whose answer does not fit waits briefly, then → 503 buffers_full with Retry-After.'),
  maxConcurrentRequests: z.coerce.number().int().min(1).default(10_000).describe('Requests served at once by the gateway, each counted until its answer is written; beyond it → 429 overloaded before the body is read.'),
  maxJsonDepth: z.coerce.number().int().min(2).max(1024).default(64).describe('Deepest JSON nesting accepted in a request body.'),
  maxHeaders: z.coerce.number().int().min(8).max(2000).default(100).describe('Most request headers accepted; more → 431 (Envoy\'s default is 100).'),
  readiness: z.enum(['backends', 'self']).default('backends').describe(
    '"backends": health routes report not-ready while any served target is down (sidecar). ' +
    '"self": stay ready and answer 503 JSON for the unavailable target (several replicas sharing backends).'),
  modelLoadErrors: z.enum(['exit', 'continue']).default('exit').describe(
    'A model that fails to load (onnx): "exit" refuses to start (Triton\'s default); "continue" serves the others, and the failed one answers 503 with its load error.'),
  readyWhen: z.enum(['all', 'any']).default('all').describe(
    'With readiness "backends": health routes report ready when "all" configured models are ready, or when "any" one is (per-model routes report each model).'),
  healthIntervalMs: duration.prefault('2s').describe('How often backend and model health are polled.'),
  drainSeconds: z.coerce.number().min(0).max(3600).default(20).describe('On SIGTERM, how long in-flight requests may take before the process exits (SageMaker kills at 30 s).'),
  drainDelaySeconds: z.coerce.number().min(0).max(60).default(1).describe('On SIGTERM, how long to keep accepting connections (while answering not-ready) so load balancers notice.'),
  headersTimeoutMs: duration.prefault('10s').describe('A client must send all request headers within this time (408).'),
  bodyIdleTimeoutMs: duration.prefault('15s').describe('A client that stops sending its body for this long gets 408.'),
  requestTimeoutMs: duration.prefault('120s').describe('A client must send the whole request within this time (408).'),
  keepAliveTimeoutMs: duration.prefault('65s').describe('Idle keep-alive connections are closed after this time; above the load balancer\'s idle timeout.'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Log level; one line per request at debug.'),
  watchConfig: z.boolean().default(false).describe('Reload when the config file changes.'),
  logFormat: z.enum(['json', 'cloud-logging']).default('json').describe(
    '"cloud-logging" (Cloud Run, GKE): a request without x-request-id takes the trace id of X-Cloud-Trace-Context as its id, and its log lines ' +
    'carry logging.googleapis.com/trace, logging.googleapis.com/spanId and, on the request line, httpRequest.'),
  traceProject: z.string().default('').describe('Google Cloud project id that makes logging.googleapis.com/trace a resource name (projects/ID/traces/TRACE) in cloud-logging lines.'),
  revision: z.string().default('').describe('The running revision (Cloud Run and Knative set K_REVISION): in /admin/status, on every log line and as infergate_revision_info{revision}.'),
  h2c: z.boolean().default(false).describe(
    'Serve HTTP/2 cleartext on the platform port beside HTTP/1.1, by prior knowledge and by Upgrade: h2c (Cloud Run --use-http2). Same limits, timeouts and error bodies.'),
  http2MaxConcurrentStreams: z.coerce.number().int().min(1).max(1000).default(100).describe('Streams one HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).'),
}).describe('Listener, limits and lifecycle.');

export type ServerConfig = z.infer<typeof serverSchema>;
