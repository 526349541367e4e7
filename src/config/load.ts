// load.ts — read a YAML config file, expand ${VAR} in every scalar, validate against a schema (src/schema.ts gives the gateway's),
// and report every problem at file:line:col with its key path and what was expected.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Document, Node, Scalar } from 'yaml';
import type { ZodType } from 'zod';
import { EnvError, expandEnv } from './env.ts';
import { readPlainYaml } from './plain-yaml.ts';

// The yaml library (~15 ms to load) only for a config plain-yaml.ts does not read, or one with a
// problem to place at its line: a valid plain config, the bundled ones included, starts without it.
let yamlLibrary: typeof Yaml | undefined;
const yaml = (): typeof Yaml => (yamlLibrary ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

export interface ConfigIssue {
  line: number;
  col: number;
  path: string;
  message: string;
}

/** ConfigError lists every problem of a config file; its message is ready for a terminal. */
export class ConfigError extends Error {
  readonly file: string;
  readonly issues: ConfigIssue[];
  constructor(file: string, issues: ConfigIssue[]) {
    super(issues.map((i) => `${file}:${i.line}:${i.col}: ${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'));
    this.name = 'ConfigError';
    this.file = file;
    this.issues = issues;
  }
}

/** Most alias expansions (the yaml library's count) a config may hold. */
export const maxAliasCount = 100;

/** loadWith reads a config file and validates it against `schema`; throws ConfigError. */
export function loadWith<T>(schema: ZodType<T>, file: string, env: Record<string, string | undefined> = process.env): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ line: 0, col: 0, path: '', message: `cannot read the file: ${(err as Error).message}` }]);
  }
  return parseWith(schema, text, file, env);
}

/** parseWith validates config text against `schema`; `file` only names it in errors. */
export function parseWith<T>(schema: ZodType<T>, text: string, file: string, env: Record<string, string | undefined> = process.env): T {
  const quick = quickParse(schema, text, env);
  if (quick !== undefined) return quick.data;
  const lines = new (yaml().LineCounter)();
  // The yaml library checks unique keys by scanning the map for each key (quadratic: 3.5 s for
  // a map of 20,000 models); duplicateKeys does it with a set per map.
  const doc = yaml().parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number): { line: number; col: number } => {
    const p = lines.linePos(offset);
    return { line: p.line, col: p.col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(file, doc.errors.map((e) => ({ ...at(e.pos[0]), path: '', message: e.message.split('\n')[0]! })));
  }
  const duplicates = duplicateKeys(doc, at);
  if (duplicates.length > 0) throw new ConfigError(file, duplicates);
  const envIssues = expandScalars(doc, env, at);
  if (envIssues.length > 0) throw new ConfigError(file, envIssues);
  let data: unknown;
  try {
    // An alias bomb (anchors of anchors, in lists or merge keys) expands exponentially:
    // the yaml library refuses a document whose aliases would expand past maxAliasCount.
    data = doc.toJS({ maxAliasCount }) ?? {};
  } catch (err) {
    throw new ConfigError(file, [{ line: 1, col: 1, path: '',
      message: `the YAML cannot be expanded: ${(err as Error).message} (its aliases would expand to more than ${maxAliasCount} nodes; a config needs no more)` }]);
  }
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => {
    const path = issue.path.map(String);
    const node = nearestNode(doc, issue.path as (string | number)[]);
    const pos = node?.range ? at(node.range[0]) : { line: 1, col: 1 };
    return { ...pos, path: path.join('.'), message: describeIssue(issue) };
  });
  throw new ConfigError(file, issues);
}

// quickParse reads a valid config the fast way (plain-yaml.ts): tens of milliseconds where the
// yaml library takes seconds at 20,000 models. Anything it cannot read, and any config with a
// problem, goes the full way, which places each problem at its line.
function quickParse<T>(schema: ZodType<T>, text: string, env: Record<string, string | undefined>): { data: T } | undefined {
  const read = readPlainConfig(text, env);
  if (read === undefined) return undefined;
  const result = schema.safeParse(read.value ?? {});
  return result.success ? { data: result.data } : undefined;
}

/**
 * readPlainConfig reads a config written in plain YAML with ${VAR} expanded, not validated; undefined
 * when plain-yaml.ts gives up or a variable cannot be expanded (the full load reports it).
 */
export function readPlainConfig(text: string, env: Record<string, string | undefined>): { value: unknown } | undefined {
  try {
    return readPlainYaml(text, (s, plain) => {
      if (!s.includes('$')) return s;
      const expanded = expandEnv(s, env);
      return plain ? retype(expanded) : expanded;
    });
  } catch (err) {
    if (err instanceof EnvError) return undefined;
    throw err;
  }
}

// expandScalars replaces ${VAR} in every string scalar, then gives "8080"/"true" their YAML types.
function expandScalars(doc: Document, env: Record<string, string | undefined>,
  at: (offset: number) => { line: number; col: number }): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  yaml().visit(doc, {
    Scalar(_key, node: Scalar) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      try {
        const expanded = expandEnv(node.value, env);
        node.value = node.type === 'PLAIN' ? retype(expanded) : expanded;
      } catch (err) {
        if (!(err instanceof EnvError)) throw err;
        issues.push({ ...at(node.range?.[0] ?? 0), path: '', message: err.message });
      }
    },
  });
  return issues;
}

// duplicateKeys finds a scalar key given twice in one map, in linear time.
function duplicateKeys(doc: Document, at: (offset: number) => { line: number; col: number }): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  yaml().visit(doc, {
    Map(_key, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        if (!yaml().isScalar(pair.key)) continue;
        if (seen.has(pair.key.value)) issues.push({ ...at(pair.key.range?.[0] ?? 0), path: '', message: `Map keys must be unique: "${String(pair.key.value)}" is given twice` });
        else seen.add(pair.key.value);
      }
    },
  });
  return issues;
}

function retype(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~') return null;
  return text;
}

// nearestNode walks the document along the issue's path and returns the deepest node found,
// so a missing key points at the map that should hold it.
function nearestNode(doc: Document, path: (string | number)[]): Node | undefined {
  let node: unknown = doc.contents;
  let found = node as Node | undefined;
  for (const key of path) {
    if (yaml().isMap(node)) {
      const pair = node.items.find((p) => (yaml().isScalar(p.key) ? p.key.value : p.key) === key);
      if (pair === undefined) break;
      node = pair.value;
      found = (pair.value ?? pair.key) as Node;
    } else if (yaml().isSeq(node) && typeof key === 'number') {
      node = node.items[key];
      if (node === undefined) break;
      found = node as Node;
    } else break;
  }
  return found;
}

function describeIssue(issue: { code: string; message: string; expected?: unknown; keys?: string[]; options?: unknown[] }): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_union' && /discriminator/i.test(issue.message)) return `${issue.message}`;
  return issue.message;
}
