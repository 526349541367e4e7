// schema.ts — the config interface, assembled from the registries: each frontend, backend and
// stage file owns the schema of its own block, and this file puts them where they go in the
// YAML. `.describe()` texts are the documentation: they become the JSON Schema (`infergate
// schema`) and the README's config reference (src/reference.ts).

import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { backendSchemas } from './backends/index.ts';
import { loadWith, parseWith } from './config/load.ts';
import { namePattern } from './config/names.ts';
import { payloadLogSchema } from './observe/payload-log.ts';
import { tracingSchema } from './observe/trace.ts';
import { size } from './config/units.ts';
import { frontendSchemas } from './frontends/index.ts';
import { graphSchema, resolveGraphFiles } from './graph/schema.ts';
import { graphIssues } from './graph/validate.ts';
import { authSchema } from './server/auth.ts';
import { serverSchema } from './server/options.ts';
import { rateLimitSchema } from './server/rate-limit.ts';
import { graphModelStages, modelStages, targetStages } from './stages.ts';
import { storageSchema } from './storage/schema.ts';
import { tensorSpecSchema } from './tensors/spec.ts';
import { resolveTransformFiles } from './transform/stage.ts';
import type { StageFields, StagePlugin } from './types.ts';

const name = z.string().regex(new RegExp(`^${namePattern}$`), 'expected a name: letters, digits, "_", "." and "-", at most 128, starting with a letter or digit');

type Intersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void ? I : never;
/** Fields is the type of the fields a list of plugins puts at `At`, so the parsed config is typed. */
type Fields<P extends ReadonlyArray<StagePlugin>, At extends keyof StageFields> =
  Intersection<{ [I in keyof P]: P[I] extends { schema: { [K in At]: infer S } } ? S : {} }[number]>;

/** stageFields gathers the fields the stages put into a model block or a target block. */
export function stageFields<P extends ReadonlyArray<StagePlugin>, At extends keyof StageFields>(plugins: P, at: At): Fields<P, At> {
  return Object.assign({}, ...plugins.map((p) => p.schema[at] ?? {})) as Fields<P, At>;
}

export const targetSchema = z.strictObject({
  name: name.optional().describe('Target name in metrics and x-infergate-target; default "<backend>/<model>[/<version>]".'),
  backend: z.string().describe('Name of a backend under `backends`.'),
  model: z.string().optional().describe('Model name on the backend; default the gateway model name.'),
  version: z.coerce.string().optional().describe('Model version on the backend; default the backend\'s choice.'),
  weight: z.coerce.number().min(0).default(100).describe('Share of traffic, relative to the other targets.'),
  versions: z.enum(['pinned', 'any']).default('pinned').describe(
    'Which versions a client may name (…/versions/{v}/…, model_version): "pinned" = only those a target pins with `version`, others are 404; ' +
    '"any" = this target also serves any other version the backend has, each through the same stages.'),
  maxVersions: z.coerce.number().int().min(1).max(256).default(16).describe(
    'With versions "any": most versions with a path of their own at once (least recently used closed first). Calls for such versions are named "<target>@any" in x-infergate-target and metric labels.'),
  ...stageFields(targetStages, 'target'),
}).describe('One backend model that serves a gateway model.');

export const modelSchema = z.strictObject({
  targets: z.array(targetSchema).min(1).default([]).describe('Backends serving this model, with their weights; a graph model has `graph` instead.'),
  graph: graphSchema.optional(),
  ...stageFields(modelStages, 'model'),
  ...stageFields(targetStages, 'model'),
  metadata: z.strictObject({
    inputs: z.array(tensorSpecSchema).optional(),
    outputs: z.array(tensorSpecSchema).optional(),
    maxBatchSize: z.coerce.number().int().min(0).optional(),
  }).optional().describe('Overrides the metadata the backend reports.'),
}).describe('A model the gateway serves.');

/** dynamicModelsSchema is the template of models loaded at run time (SageMaker multi-model endpoints, the KServe repository API). */
export const dynamicModelsSchema = z.strictObject({
  backend: z.string().describe(
    'Backend that loads them: onnx (each is the `file` inside the folder loaded: "an ONNX model at <url>/model.onnx"), or triton with modelControl ("a Triton model of that name", loaded through its repository API).'),
  template: modelSchema.omit({ targets: true, graph: true }).prefault({}).describe(
    'The model block every loaded model gets (batching, timeoutMs, breaker, concurrency…), its one target being the backend above.'),
  maxModelsMemory: size.optional().describe('Memory budget of the loaded models together (e.g. 4gb), as the backend estimates each (onnx: file size plus workerMemory, times workers); absent = no budget.'),
  whenFull: z.enum(['evict', 'refuse']).default('evict').describe(
    'A load that does not fit the budget: "evict" unloads the least recently used loaded models until it fits; "refuse" answers 507 insufficient_memory (SageMaker then unloads models itself).'),
  maxModels: z.coerce.number().int().min(1).max(100_000).default(1000).describe('Most models loaded at run time at once; past it a load evicts or is refused as with the memory budget.'),
}).describe('Models loaded at run time from a template: SageMaker multi-model endpoints (POST /models) and KServe repository loads of models the config does not name. ' +
  '`template` is a `models.NAME` block without `targets` (batching, timeoutMs, breaker, concurrency…).');

// The model keys that configure the path to targets (the split, shadow, rollback and every target
// stage): a graph model has no targets, so any of them set other than to its default is an error.
const targetBoundFields = stageFields([...modelStages.filter((s) => !(graphModelStages as readonly unknown[]).includes(s)), ...targetStages], 'model');
const targetBoundDefaults: Record<string, unknown> = z.object(targetBoundFields).parse({});

// Every frontend block also takes `auth` and `rateLimit` (applied to its POST routes).
const frontendBlocks = Object.fromEntries(Object.entries(frontendSchemas).map(([key, schema]) => [key,
  (schema.unwrap() as unknown as z.ZodObject).extend({ auth: authSchema.optional(), rateLimit: rateLimitSchema.optional() }).optional()]));

const backendSchema = z.discriminatedUnion('type', backendSchemas as unknown as [z.ZodObject<{ type: z.ZodLiteral<string> }>, ...z.ZodObject<{ type: z.ZodLiteral<string> }>[]]);

/** configSchema is the whole config file. */
export const configSchema = z.strictObject({
  version: z.coerce.string().optional().describe('Free-form config version, shown in /admin/status.'),
  server: serverSchema.prefault({}),
  frontends: z.strictObject(frontendBlocks).prefault({}).describe('Platform contracts to answer; each is on when its block is present.'),
  backends: z.record(name, backendSchema).describe('Servers behind the gateway, by name.'),
  models: z.record(name, modelSchema).describe('Models the gateway serves, by name.'),
  storage: storageSchema.prefault({}),
  tracing: tracingSchema.prefault({}),
  payloadLog: payloadLogSchema.optional(),
  dynamicModels: dynamicModelsSchema.optional(),
}).superRefine((config, ctx) => {
  for (const [modelName, model] of Object.entries(config.models)) {
    const at = (...path: Array<string | number>): Array<string | number> => ['models', modelName, ...path];
    if (model.graph !== undefined) {
      if (model.targets.length > 0) ctx.addIssue({ code: 'custom', path: at('graph'), message: 'a model has `targets` or `graph`, not both' });
      for (const key of Object.keys(targetBoundFields)) {
        if (!isDeepStrictEqual((model as Record<string, unknown>)[key], targetBoundDefaults[key])) {
          ctx.addIssue({ code: 'custom', path: at(key), message: `\`${key}\` configures a model's targets, and a graph model has none; set it on the step models` });
        }
      }
      continue;
    }
    if (model.targets.length === 0) {
      ctx.addIssue({ code: 'custom', path: at(), message: 'a model needs `targets` (the backends serving it) or `graph` (the models it calls)' });
      continue;
    }
    const names = model.targets.map((t) => targetName(t, modelName));
    const known = `targets: ${names.join(', ')}`;
    model.targets.forEach((t, i) => {
      if (!Object.hasOwn(config.backends, t.backend)) {
        ctx.addIssue({ code: 'custom', path: at('targets', i, 'backend'),
          message: `unknown backend "${t.backend}"; configured: ${Object.keys(config.backends).join(', ') || 'none'}` });
      }
      if (names.indexOf(names[i]!) !== i) ctx.addIssue({ code: 'custom', path: at('targets', i), message: `two targets are named "${names[i]}"; give one a \`name\`` });
      if (t.version !== undefined && model.targets.findIndex((o) => o.version === t.version) !== i) {
        ctx.addIssue({ code: 'custom', path: at('targets', i, 'version'), message: `two targets pin version "${t.version}"; a client naming it would reach only the first` });
      }
    });
    for (const key of ['canary', 'primary'] as const) {
      const n = model.rollback?.[key];
      if (n !== undefined && !names.includes(n)) ctx.addIssue({ code: 'custom', path: at('rollback', key), message: `"${n}" is not a target of this model; ${known}` });
    }
    model.allowOverride.forEach((n, i) => {
      if (!names.includes(n)) ctx.addIssue({ code: 'custom', path: at('allowOverride', i), message: `"${n}" is not a target of this model; ${known}` });
    });
    if (model.shadow !== undefined && !Object.hasOwn(config.backends, model.shadow.backend)) {
      ctx.addIssue({ code: 'custom', path: at('shadow', 'backend'), message: `unknown backend "${model.shadow.backend}"` });
    }
  }
  const sm = config.frontends.sagemaker as { model?: string; multiModel?: boolean } | undefined;
  if (sm !== undefined && sm.model === undefined && sm.multiModel !== true) {
    ctx.addIssue({ code: 'custom', path: ['frontends', 'sagemaker', 'model'], message: 'name the model that answers /invocations (or set multiModel: true)' });
  }
  if (sm?.multiModel === true && config.dynamicModels === undefined) {
    ctx.addIssue({ code: 'custom', path: ['frontends', 'sagemaker', 'multiModel'], message: 'a multi-model endpoint loads models from the dynamicModels template; add a dynamicModels block' });
  }
  const dynamic = config.dynamicModels;
  if (dynamic !== undefined && !Object.hasOwn(config.backends, dynamic.backend)) {
    ctx.addIssue({ code: 'custom', path: ['dynamicModels', 'backend'], message: `unknown backend "${dynamic.backend}"; configured: ${Object.keys(config.backends).join(', ') || 'none'}` });
  } else if (dynamic !== undefined && !loadsModels(config.backends[dynamic.backend]!)) {
    // Only a backend that loads models itself can load one at run time.
    ctx.addIssue({ code: 'custom', path: ['dynamicModels', 'backend'],
      message: `backend "${dynamic.backend}" (type ${config.backends[dynamic.backend]!.type}) does not load models itself; use an onnx backend, or a triton one with modelControl: true` });
  }
  for (const issue of graphIssues(config.models)) ctx.addIssue({ code: 'custom', ...issue });
  const grpcPort = (config.frontends.grpc as { port?: number } | undefined)?.port;
  if (grpcPort !== undefined && grpcPort !== 0 && (grpcPort === config.server.port || grpcPort === config.server.adminPort)) {
    ctx.addIssue({ code: 'custom', path: ['frontends', 'grpc', 'port'], message: `port ${grpcPort} is already the ${grpcPort === config.server.port ? 'server' : 'admin'} port; gRPC needs a port of its own` });
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
export type ModelConfig = z.infer<typeof modelSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type DynamicModelsConfig = z.infer<typeof dynamicModelsSchema>;

// loadsModels says whether a backend loads and unloads models at run time (onnx; triton with modelControl).
function loadsModels(backend: { type: string }): boolean {
  return backend.type === 'onnx' || (backend.type === 'triton' && (backend as { modelControl?: boolean }).modelControl === true);
}

/** targetName gives a target's name: configured, or "<backend>/<model>[/<version>]". */
export function targetName(t: { name?: string | undefined; backend: string; model?: string | undefined; version?: string | undefined }, model: string): string {
  return t.name ?? [t.backend, t.model ?? model, t.version].filter((x) => x !== undefined).join('/');
}

/** parseConfig validates config text; `file` only names it in errors. Throws ConfigError. */
export function parseConfig(text: string, file: string, env: Record<string, string | undefined> = process.env): Config {
  return withFiles(parseWith(configSchema, text, file, env), file);
}

/** loadConfigFile reads and validates a config file. Throws ConfigError. */
export function loadConfigFile(file: string, env: Record<string, string | undefined> = process.env): Config {
  return withFiles(loadWith(configSchema, file, env), file);
}

// withFiles makes the files a config names (transform and combine modules, label files) absolute, against the config's folder.
function withFiles(config: Config, file: string): Config {
  resolveTransformFiles(config.models, file);
  resolveGraphFiles(config.models, file);
  return config;
}

/** jsonSchema gives the JSON Schema of the config file, for editors. */
export function jsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}
