// schema.ts — the config interface, as zod schemas. `.describe()` texts are the documentation:
// they become the JSON Schema (`infergate schema`) and the README's config reference.
// Backend and frontend blocks come from their own files through the registries.

import { adaptiveConcurrencySchema } from '../guard/adaptive-limit.ts';
import { z } from 'zod';
import { backendSchemas } from '../backends/index.ts';
import { frontendSchemas } from '../frontends/index.ts';
import { duration, size } from './units.ts';

const port = z.coerce.number().int().min(0).max(65535);

export const serverSchema = z.strictObject({
  host: z.string().default('0.0.0.0').describe('Address to listen on; platforms require 0.0.0.0.'),
  port: port.default(8080).describe('Platform port: ${AIP_HTTP_PORT} on Vertex, ${SAGEMAKER_BIND_TO_PORT} on SageMaker, server_port on OCI.'),
  adminPort: z.union([port, z.literal('same')]).default(9090).describe('Port for /metrics and /admin/* (kept off the platform port so a public endpoint never exposes them); "same" serves them on the main port.'),
  adminHost: z.string().default('127.0.0.1').describe('Address the admin port listens on.'),
  adminToken: z.string().optional().describe('Bearer token required on /admin/* when set.'),
  maxBodyBytes: size.prefault('10mb').describe('Largest request body (e.g. 10mb, 512kb); larger → 413 before the body is read.'),
  maxConcurrentRequests: z.coerce.number().int().min(1).default(10_000).describe('Requests served at once by the gateway; beyond it → 429 overloaded before the body is read.'),
  maxJsonDepth: z.coerce.number().int().min(2).max(1024).default(64).describe('Deepest JSON nesting accepted in a request body.'),
  maxHeaders: z.coerce.number().int().min(8).max(2000).default(100).describe('Most request headers accepted; more → 431 (Envoy\'s default is 100).'),
  readiness: z.enum(['backends', 'self']).default('backends').describe(
    '"backends": health routes report not-ready while any served target is down (sidecar). ' +
    '"self": stay ready and answer 503 JSON for the unavailable target (several replicas sharing backends).'),
  healthIntervalMs: duration.prefault('2s').describe('How often backend and model health are polled.'),
  drainSeconds: z.coerce.number().min(0).max(3600).default(20).describe('On SIGTERM, how long in-flight requests may take before the process exits (SageMaker kills at 30 s).'),
  drainDelaySeconds: z.coerce.number().min(0).max(60).default(1).describe('On SIGTERM, how long to keep accepting connections (while answering not-ready) so load balancers notice.'),
  headersTimeoutMs: duration.prefault('10s').describe('A client must send all request headers within this time (408).'),
  bodyIdleTimeoutMs: duration.prefault('15s').describe('A client that stops sending its body for this long gets 408.'),
  requestTimeoutMs: duration.prefault('120s').describe('A client must send the whole request within this time (408).'),
  keepAliveTimeoutMs: duration.prefault('65s').describe('Idle keep-alive connections are closed after this time; above the load balancer\'s idle timeout.'),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Log level; one line per request at debug.'),
  watchConfig: z.boolean().default(false).describe('Reload when the config file changes.'),
}).describe('Listener, limits and lifecycle.');

export const batchingSchema = z.strictObject({
  maxBatchSize: z.coerce.number().int().min(1).default(32).describe('Most rows in one backend call; bigger requests are split into chunks.'),
  maxQueueDelayMs: z.coerce.number().min(0).default(0).describe('Longest a partial batch may wait for more rows (Triton semantics); 0 = never wait.'),
  maxConcurrentBatches: z.coerce.number().int().min(1).default(1).describe('Batches in flight to the backend at once.'),
  maxQueueRows: z.coerce.number().int().min(1).default(4096).describe('Rows allowed to wait; beyond it → 429 queue_full.'),
  adaptive: z.boolean().default(false).describe('Decide the wait from a fitted cost model t(n) = a + b·n and the arrival rate.'),
}).describe('Dynamic batching of rows across requests.');

export const breakerSchema = z.strictObject({
  errorThresholdPercentage: z.coerce.number().min(1).max(100).default(50).describe('Failure percentage in the rolling window that opens the breaker.'),
  volumeThreshold: z.coerce.number().int().min(1).default(20).describe('Calls in the window before the breaker may open.'),
  rollingCountTimeoutMs: duration.prefault('10s').describe('Length of the rolling window.'),
  resetTimeoutMs: duration.prefault('10s').describe('Time open before one probe is let through (half-open).'),
}).describe('Circuit breaker per target.');

export const retrySchema = z.strictObject({
  attempts: z.coerce.number().int().min(0).max(5).default(1).describe('Extra attempts for calls that cannot have had an effect.'),
  budgetPercent: z.coerce.number().min(0).max(100).default(20).describe('Retries allowed as a share of calls over the rolling window.'),
  backoffMs: duration.prefault('25ms').describe('Base of the jittered backoff.'),
  budgetWindowMs: duration.prefault('10s').describe('Rolling window over which the retry budget is counted.'),
  minRetries: z.coerce.number().int().min(0).default(3).describe('Retries always allowed in the window, whatever budgetPercent gives at low traffic.'),
}).describe('Retries with a budget.');

export const targetSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/).optional().describe('Target name in metrics and x-infergate-target; default "<backend>/<model>[/<version>]".'),
  backend: z.string().describe('Name of a backend under `backends`.'),
  model: z.string().optional().describe('Model name on the backend; default the gateway model name.'),
  version: z.coerce.string().optional().describe('Model version on the backend; default the backend\'s choice.'),
  weight: z.coerce.number().min(0).default(100).describe('Share of traffic, relative to the other targets.'),
  batching: batchingSchema.optional().describe('Overrides the model\'s batching for this target.'),
  maxInFlight: z.coerce.number().int().min(1).optional().describe('Concurrent calls to this target; beyond it → 429.'),
  adaptiveConcurrency: adaptiveConcurrencySchema.optional(),
}).describe('One backend model that serves a gateway model.');

export const stickySchema = z.strictObject({
  header: z.string().optional().describe('Request header whose value keeps a client on one target.'),
  field: z.string().optional().describe('Dotted path of a JSON field (e.g. parameters.user_id).'),
}).refine((s) => (s.header === undefined) !== (s.field === undefined), { message: 'set exactly one of header and field' })
  .describe('Sticky routing: the same key reaches the same target while weights are unchanged (weighted rendezvous hashing); requests without the key are split by weight.');

export const shadowSchema = z.strictObject({
  backend: z.string().describe('Name of a backend under `backends` that receives the copies.'),
  model: z.string().optional().describe('Model name on the shadow backend; default the gateway model name.'),
  version: z.coerce.string().optional().describe('Model version on the shadow backend.'),
  percent: z.coerce.number().min(0).max(100).default(100).describe('Share of answered requests copied to the shadow (evenly spread, e.g. 10 = every tenth).'),
  maxInFlight: z.coerce.number().int().min(1).default(16).describe('Shadow calls at once; a copy that finds it full is dropped and counted.'),
  tolerance: z.coerce.number().min(0).default(1e-4).describe('Largest absolute difference for two numbers to agree.'),
  agreement: z.enum(['auto', 'values']).default('auto').describe(
    'When one prediction agrees: "auto" = same label (strings, booleans), same argmax (vectors of scores), scalars within tolerance; ' +
    '"values" = every number within tolerance. The largest absolute difference is reported either way.'),
}).describe('Copy a share of requests to a shadow target after answering and compare.');

export const rollbackSchema = z.strictObject({
  canary: z.string().optional().describe('Target name watched; default the target with the smallest weight.'),
  primary: z.string().optional().describe('Target it is compared with; default the target with the largest weight other than the canary.'),
  minRequests: z.coerce.number().int().min(1).default(100).describe('Calls each of the two needs in the window before they are compared.'),
  maxErrorRateRatio: z.coerce.number().min(1).default(2).describe('Canary error rate above this multiple of the primary\'s → rolled back.'),
  maxP99Ratio: z.coerce.number().min(1).default(2).describe('Canary p99 latency above this multiple of the primary\'s → rolled back.'),
  windowMs: duration.prefault('60s').describe('Sliding window over which both are measured.'),
  errorRateFloor: z.coerce.number().min(0).max(1).default(0.01).describe('The primary\'s error rate counts as at least this, so a few canary errors against a faultless primary do not trip it.'),
  latencyFloorMs: duration.prefault('5ms').describe('The primary\'s p99 counts as at least this, so jitter on sub-millisecond answers does not trip it.'),
  promote: z.strictObject({
    afterRequests: z.coerce.number().int().min(1).describe('Canary calls within the thresholds after which it takes all the traffic.'),
  }).optional().describe('The opposite direction: a canary that stays healthy replaces the primary.'),
}).describe('Canary auto-rollback: the canary\'s weight drops to 0 when it is worse than the primary beyond the thresholds, until the config is reloaded.');

export const modelSchema = z.strictObject({
  targets: z.array(targetSchema).min(1).describe('Backends serving this model, with their weights.'),
  timeoutMs: duration.prefault('30s').describe('Deadline for one request, queue wait and backend time together; clients may ask for less with x-request-timeout-ms.'),
  batching: batchingSchema.optional().describe('Dynamic batching; omitted = each request is one backend call.'),
  breaker: breakerSchema.optional().describe('Circuit breaker per target; omitted = none.'),
  retry: retrySchema.optional().describe('Retries; omitted = none.'),
  sticky: stickySchema.optional(),
  allowOverride: z.array(z.string()).default([]).describe('Target names a client may pick with x-infergate-target.'),
  shadow: shadowSchema.optional(),
  rollback: rollbackSchema.optional(),
  metadata: z.strictObject({
    inputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })).optional(),
    outputs: z.array(z.object({ name: z.string(), datatype: z.string(), shape: z.array(z.number()) })).optional(),
    maxBatchSize: z.coerce.number().int().min(0).optional(),
  }).optional().describe('Overrides the metadata the backend reports.'),
}).describe('A model the gateway serves.');

export const authSchema = z.strictObject({
  apiKeys: z.strictObject({
    header: z.string().default('x-api-key').describe('Header carrying the key ("authorization" accepts "Bearer KEY" too).'),
    keys: z.array(z.string().min(16)).default([]).describe('Accepted keys (use ${ENV_VAR} rather than literals); at least 16 characters.'),
    keysFile: z.string().optional().describe('File with one key per line (a mounted secret).'),
  }).optional().describe('Static API keys.'),
  jwt: z.strictObject({
    jwksUrl: z.url().optional().describe('JWKS endpoint to fetch verification keys from.'),
    publicKey: z.string().optional().describe('PEM public key (SPKI) for RS256/ES256 tokens.'),
    secret: z.string().min(32).optional().describe('Shared secret for HS256 tokens (32+ characters).'),
    issuer: z.string().optional().describe('Required `iss`.'),
    audience: z.string().optional().describe('Required `aud`.'),
    clockToleranceSeconds: z.number().min(0).max(300).default(30),
  }).optional().describe('Bearer JWTs in the Authorization header.'),
}).describe('Client authentication for a frontend; either scheme admits a request.');

export type AuthConfig = z.infer<typeof authSchema>;

export const rateLimitSchema = z.strictObject({
  requestsPerSecond: z.number().positive().describe('Sustained requests per second per client.'),
  burst: z.number().int().min(1).optional().describe('Bucket size: requests a client may send at once; default 2 × requestsPerSecond.'),
  key: z.string().regex(/^(client|ip|header:[A-Za-z0-9-]+)$/).default('client').describe(
    '"client": the authenticated identity, else the peer address; "ip": the peer address; "header:NAME": a request header.'),
  maxClients: z.number().int().min(1).default(100_000).describe('Buckets kept; the least recently used are forgotten beyond it.'),
}).describe('Per-client rate limit for a frontend.');

export type RateLimitConfig = z.infer<typeof rateLimitSchema>;

// Every frontend block also takes `auth` and `rateLimit` (applied to its POST routes).
const frontendBlocks = Object.fromEntries(Object.entries(frontendSchemas).map(([key, schema]) => [key,
  (schema.unwrap() as unknown as z.ZodObject).extend({ auth: authSchema.optional(), rateLimit: rateLimitSchema.optional() }).optional()]));

const backendSchema = z.discriminatedUnion('type', backendSchemas as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]]);

export const configSchema = z.strictObject({
  version: z.coerce.string().optional().describe('Free-form config version, shown in /admin/status.'),
  server: serverSchema.prefault({}),
  frontends: z.strictObject(frontendBlocks).prefault({}).describe('Platform contracts to answer; each is on when its block is present.'),
  backends: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/), backendSchema).describe('Servers behind the gateway, by name.'),
  models: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/), modelSchema).describe('Models the gateway serves, by name.'),
}).superRefine((config, ctx) => {
  for (const [name, model] of Object.entries(config.models)) {
    model.targets.forEach((t, i) => {
      if (!Object.hasOwn(config.backends, t.backend)) {
        ctx.addIssue({ code: 'custom', path: ['models', name, 'targets', i, 'backend'],
          message: `unknown backend "${t.backend}"; configured: ${Object.keys(config.backends).join(', ') || 'none'}` });
      }
    });
    const names = model.targets.map((t) => targetName(t, name));
    names.forEach((n, i) => {
      if (names.indexOf(n) !== i) {
        ctx.addIssue({ code: 'custom', path: ['models', name, 'targets', i], message: `two targets are named "${n}"; give one a \`name\`` });
      }
    });
    for (const key of ['canary', 'primary'] as const) {
      const n = model.rollback?.[key];
      if (n !== undefined && !names.includes(n)) {
        ctx.addIssue({ code: 'custom', path: ['models', name, 'rollback', key], message: `"${n}" is not a target of this model; targets: ${names.join(', ')}` });
      }
    }
    model.allowOverride.forEach((n, i) => {
      if (!names.includes(n)) {
        ctx.addIssue({ code: 'custom', path: ['models', name, 'allowOverride', i], message: `"${n}" is not a target of this model; targets: ${names.join(', ')}` });
      }
    });
    if (model.shadow !== undefined && !Object.hasOwn(config.backends, model.shadow.backend)) {
      ctx.addIssue({ code: 'custom', path: ['models', name, 'shadow', 'backend'], message: `unknown backend "${model.shadow.backend}"` });
    }
  }
  for (const [fname, fe] of Object.entries(config.frontends)) {
    const model = (fe as { model?: string } | undefined)?.model;
    if (model !== undefined && !Object.hasOwn(config.models, model)) {
      ctx.addIssue({ code: 'custom', path: ['frontends', fname, 'model'],
        message: `unknown model "${model}"; configured: ${Object.keys(config.models).join(', ') || 'none'}` });
    }
  }
});

export type Config = z.infer<typeof configSchema>;

/** targetName gives a target's name: configured, or "<backend>/<model>[/<version>]". */
export function targetName(t: { name?: string; backend: string; model?: string; version?: string }, model: string): string {
  return t.name ?? [t.backend, t.model ?? model, t.version].filter((x) => x !== undefined).join('/');
}
export type ServerConfig = z.infer<typeof serverSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type BatchingConfig = z.infer<typeof batchingSchema>;
export type BreakerConfig = z.infer<typeof breakerSchema>;
export type RetryConfig = z.infer<typeof retrySchema>;
export type ShadowConfig = NonNullable<ModelConfig['shadow']>;
export type RollbackConfig = NonNullable<ModelConfig['rollback']>;

/** jsonSchema gives the JSON Schema of the config file, for editors. */
export function jsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
