// reference.ts — renders the config reference (Markdown tables) from the zod schemas, so the
// README cannot drift from the code: a test compares the README section with this output.

import { z } from 'zod';
import { backends } from '../backends/index.ts';
import { frontends } from '../frontends/index.ts';
import { adaptiveConcurrencySchema } from '../guard/adaptive-limit.ts';
import { outlierDetectionSchema } from '../backends/shared/outlier.ts';
import { batchingSchema, breakerSchema, modelSchema, retrySchema, rollbackSchema, serverSchema, shadowSchema, stickySchema, targetSchema } from './schema.ts';

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
  for (const [key, f] of Object.entries(frontends)) section(`\`frontends.${key}\``, f.schema);
  for (const [type, b] of Object.entries(backends)) section(`\`backends.NAME\` with \`type: ${type}\``, b.schema);
  section('`backends.NAME.outlierDetection` (http, triton, tfserving, torchserve with several urls)', outlierDetectionSchema);
  section('`models.NAME`', modelSchema, ['targets', 'batching', 'breaker', 'retry', 'sticky', 'shadow', 'rollback']);
  section('`models.NAME.targets[]`', targetSchema, ['batching', 'adaptiveConcurrency']);
  section('`models.NAME.targets[].adaptiveConcurrency`', adaptiveConcurrencySchema);
  section('`models.NAME.batching` (and `targets[].batching`)', batchingSchema);
  section('`models.NAME.breaker`', breakerSchema);
  section('`models.NAME.retry`', retrySchema);
  section('`models.NAME.sticky`', stickySchema);
  section('`models.NAME.shadow`', shadowSchema);
  section('`models.NAME.rollback`', rollbackSchema);
  return `${sections.join('\n\n')}\n`;
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
