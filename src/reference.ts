// reference.ts — renders the config reference (Markdown tables) from the zod schemas, so the
// README cannot drift from the code: a test compares the README section with this output.

import { z } from 'zod';
import { backends } from './backends/index.ts';
import { outlierDetectionSchema } from './backends/shared/outlier.ts';
import { spawnSchema } from './backends/shared/spawn.ts';
import { frontends } from './frontends/index.ts';
import { combineModuleSchema, graphSchema, switchCaseSchema, wiredStepSchema } from './graph/schema.ts';
import { dynamicModelsSchema, modelSchema, targetSchema } from './schema.ts';
import { payloadLogSchema } from './observe/payload-log.ts';
import { tracingSchema } from './observe/trace.ts';
import { serverSchema } from './server/options.ts';
import { storageSchema } from './storage/schema.ts';
import { modelStages, targetStages } from './stages.ts';
import { transformSteps } from './transform/steps.ts';
import type { StagePlugin } from './types.ts';

interface JsonSchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  additionalProperties?: JsonSchemaNode | boolean;
}

/** renderReference gives the whole config reference as Markdown. */
export function renderReference(): string {
  const sections: string[] = [];
  const section = (title: string, schema: z.ZodType, skip: string[] = []): void => {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
    sections.push(`#### ${title}\n\n${json.description ?? ''}\n\n${table(json, skip)}`);
  };
  section('`server`', serverSchema);
  section('`tracing`', tracingSchema);
  section('`payloadLog`', payloadLogSchema);
  for (const [key, f] of Object.entries(frontends)) section(`\`frontends.${key}\``, f.schema);
  for (const [type, b] of Object.entries(backends)) section(`\`backends.NAME\` with \`type: ${type}\``, b.schema);
  section('`backends.NAME.outlierDetection` (http, triton, tfserving, torchserve with several urls)', outlierDetectionSchema);
  section('`backends.NAME.spawn` (http, triton, tfserving, torchserve)', spawnSchema);
  section('`storage`', storageSchema, ['gcs', 's3', 'oci']);
  for (const key of ['gcs', 's3', 'oci'] as const) section(`\`storage.${key}\``, storageSchema.shape[key]);
  // Each stage's block (a field that is an object) gets a section of its own, in path order.
  const blocks = stageBlocks([...modelStages, ...targetStages]);
  section('`models.NAME`', modelSchema, ['targets', 'graph', ...blocks.map((b) => b.key)]);
  section('`models.NAME.targets[]`', targetSchema, blocks.map((b) => b.key));
  section('`models.NAME.graph` (instead of `targets`)', graphSchema);
  section('`models.NAME.graph.sequence[]` (a step written as an object)', wiredStepSchema);
  section('`models.NAME.graph.switch[]`', switchCaseSchema);
  section('`models.NAME.graph.combine` (a module)', combineModuleSchema);
  section('`dynamicModels`', dynamicModelsSchema, ['template']);
  for (const b of blocks) {
    const title = b.model && b.target ? `\`models.NAME.${b.key}\` (and \`targets[].${b.key}\`)` : b.model ? `\`models.NAME.${b.key}\`` : `\`models.NAME.targets[].${b.key}\``;
    section(`${title}, the ${b.stage} stage`, b.schema);
  }
  // Each transform step kind: `transform: [{ <key>: {...} }]` (a module step's keys sit beside `module`).
  for (const [key, step] of Object.entries(transformSteps)) {
    section(key === 'module' ? '`models.NAME.transform[]`: `{ module: FILE, … }`' : `\`models.NAME.transform[]\`: \`{ ${key}: {…} }\``, step.schema);
  }
  return `${sections.join('\n\n')}\n`;
}

interface StageBlock { key: string; stage: string; schema: z.ZodType; model: boolean; target: boolean }

// stageBlocks lists the stage fields that are config blocks (objects), once each.
function stageBlocks(plugins: ReadonlyArray<StagePlugin>): StageBlock[] {
  const out = new Map<string, StageBlock>();
  for (const plugin of plugins) {
    for (const at of ['model', 'target'] as const) {
      for (const [key, schema] of Object.entries(plugin.schema[at] ?? {})) {
        const json = z.toJSONSchema(schema as z.ZodType, { io: 'input', unrepresentable: 'any' }) as JsonSchemaNode;
        if (json.properties === undefined && json.anyOf?.some((n) => n.properties !== undefined) !== true) continue;
        const block = out.get(key) ?? { key, stage: plugin.name, schema: schema as z.ZodType, model: false, target: false };
        block[at] = true;
        out.set(key, block);
      }
    }
  }
  return [...out.values()];
}

function table(schema: JsonSchemaNode, skip: string[]): string {
  const rows = ['| key | type | default | what it does |', '|---|---|---|---|'];
  for (const [key, node] of Object.entries(schema.properties ?? {})) {
    if (skip.includes(key)) continue;
    const required = schema.required?.includes(key) && node.default === undefined;
    rows.push(`| \`${key}\` | ${typeOf(node)} | ${required ? '*required*' : node.default === undefined ? '' : `\`${JSON.stringify(node.default)}\``} | ${escape(node.description ?? describeNested(node))} |`);
  }
  return rows.join('\n');
}

function typeOf(node: JsonSchemaNode): string {
  if (node.const !== undefined) return `\`${JSON.stringify(node.const)}\``;
  if (node.enum) return node.enum.map((e) => `\`${JSON.stringify(e)}\``).join(' \\| ');
  if (node.anyOf) return [...new Set(node.anyOf.map(typeOf))].join(' \\| ');
  if (node.type === 'array') return `${node.items ? typeOf(node.items) : 'any'}[]`;
  if (Array.isArray(node.type)) return node.type.join(' \\| ');
  return node.type ?? 'any';
}

function describeNested(node: JsonSchemaNode): string {
  const keys = Object.keys(node.properties ?? {});
  return keys.length > 0 ? `object with ${keys.map((k) => `\`${k}\``).join(', ')}` : '';
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** writeReference replaces the README section between the config-reference markers. */
export function writeReference(readme: string): string {
  const start = '<!-- config-reference:start -->';
  const end = '<!-- config-reference:end -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new Error('the README has no config-reference markers');
  return `${readme.slice(0, a + start.length)}\n${renderReference().trim()}\n${readme.slice(b)}`;
}
