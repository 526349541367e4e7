// The shape of src/: which file may import which. Reads every .ts file under src/, takes its
// static imports and re-exports (relative ones only: packages and node: builtins are not
// layers), and checks the graph for cycles, arrows against the layer path and the few
// folder-to-folder rules the layers alone do not say.
//
// `import type` and `export type` count like any other import: a type-only arrow still ties
// the layers together, so a type-only cycle is a cycle here too. The one type-only exception
// is named in BOTTOM_PEERS below. Dynamic `import()` is not a static import and is not read.
//
// Graph building (parseImports, buildGraph) and the checks (findCycles, againstThePath,
// forbidden, unplaced) are separate functions, so the last tests below feed the checks a
// made-up graph and make sure they do find what is there.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

export interface ImportEdge {
  from: string; // 'src/a.ts'
  to: string; // 'src/b.ts'
  typeOnly: boolean;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

// --- reading the graph ---

interface ParsedImport { specifier: string; typeOnly: boolean }

// Statements that begin a line: `import x from '...'`, `import { a,\n b } from '...'`,
// `import '...'`, `import type ...`, `export { a } from '...'`, `export * from '...'`,
// `export type { T } from '...'`. Comments are removed first; an import never follows other
// code on its line in this code base.
const statement = /^[ \t]*(import|export)\b(\s+type\b)?([^'";]*?)['"]([^'"\n]+)['"]/gm;

export function parseImports(text: string): ParsedImport[] {
  const code = stripComments(text);
  const found: ParsedImport[] = [];
  for (const m of code.matchAll(statement)) {
    const [, keyword, typeWord, between] = m;
    const specifier = m[4]!;
    const clause = between!.trim();
    // `import '...'` has nothing between; every other form ends in `from`. What else begins
    // with `export` and holds a string (`export const x = '...'`) is no import.
    const endsInFrom = /(^|[\s}*])from$/.test(clause);
    if (!endsInFrom && !(keyword === 'import' && clause === '')) continue;
    // `import type X from` is type-only; `import type from './m.ts'` imports a default named type.
    const typeOnly = typeWord !== undefined && clause !== 'from';
    found.push({ specifier, typeOnly });
  }
  return found;
}

// Drops /* */ and // comments, leaving strings (and so URLs inside them) alone. Template
// literals are skipped as a whole; regular expression literals are rare enough at the start
// of an import line not to matter.
function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const comment = text.slice(i, end < 0 ? text.length : end + 2);
      out += comment.replace(/[^\n]/g, ' ');
      i += comment.length;
    } else if (c === '/' && next === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '\'' || c === '"' || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c && (c === '`' || text[j] !== '\n')) j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function listTs(root: string, dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(posix.join(root, dir), { withFileTypes: true })) {
    const rel = posix.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...listTs(root, rel));
    else if (entry.isFile() && entry.name.endsWith('.ts')) files.push(rel);
  }
  return files;
}

// Reads src/ under repoRoot into files 'src/…' and their relative imports, resolved.
export function buildGraph(repoRoot: string, srcDir = 'src'): ImportGraph {
  const files = listTs(repoRoot, srcDir).sort();
  const edges: ImportEdge[] = [];
  for (const from of files) {
    for (const { specifier, typeOnly } of parseImports(readFileSync(posix.join(repoRoot, from), 'utf8'))) {
      if (!specifier.startsWith('./') && !specifier.startsWith('../')) continue;
      edges.push({ from, to: posix.normalize(posix.join(posix.dirname(from), specifier)), typeOnly });
    }
  }
  return { files, edges };
}

// --- the layers ---

// Top to bottom. A file may import its own layer and any layer below, never one above.
// A prefix ending in '/' is a folder (with its subfolders); any other is one file, where '*'
// stands for any characters but '/'.
export const LAYERS: Array<{ name: string; members: string[] }> = [
  { name: 'entry and assembly', members: ['src/main.ts', 'src/gateway*.ts', 'src/gateway/', 'src/pipeline.ts', 'src/stages.ts', 'src/target.ts', 'src/compose.ts', 'src/schema.ts', 'src/reference.ts'] },
  { name: 'server', members: ['src/server/'] },
  { name: 'frontends', members: ['src/frontends/'] },
  { name: 'graph', members: ['src/graph/'] },
  { name: 'transform', members: ['src/transform/'] },
  { name: 'routing', members: ['src/routing/'] },
  { name: 'batching', members: ['src/batching/'] },
  { name: 'guard', members: ['src/guard/'] },
  { name: 'backends', members: ['src/backends/'] },
  { name: 'storage', members: ['src/storage/'] },
  { name: 'codecs', members: ['src/codecs/'] },
  { name: 'tensors', members: ['src/tensors/'] },
  { name: 'bottom', members: ['src/config/', 'src/errors.ts', 'src/observe/', 'src/types.ts', 'src/model-lifecycle.ts'] },
];

// The bottom layer is importable by all, but its members are not one folder: each imports
// only itself, and across members only what is listed here. The types.ts entries are its
// imports there (the tensor types it describes requests and responses with, and the span a call
// carries), allowed as `import type` only.
export const BOTTOM_PEERS: Record<string, Array<{ to: string; typeOnly?: true }>> = {
  'src/config/': [{ to: 'src/errors.ts' }],
  'src/types.ts': [{ to: 'src/tensors/tensor.ts', typeOnly: true }, { to: 'src/observe/trace.ts', typeOnly: true }, { to: 'src/model-lifecycle.ts', typeOnly: true }],
  // The tracing and payload-log blocks take durations and sizes as every other block does.
  'src/observe/': [{ to: 'src/config/units.ts' }],
};

function matches(file: string, member: string): boolean {
  if (member.endsWith('/')) return file.startsWith(member);
  const pattern = new RegExp(`^${member.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
  return pattern.test(file);
}

function placeOf(file: string): { layer: number; member: string } | undefined {
  for (const [layer, { members }] of LAYERS.entries()) {
    for (const member of members) if (matches(file, member)) return { layer, member };
  }
  return undefined;
}

const arrow = (e: ImportEdge): string => `${e.from} → ${e.to}${e.typeOnly ? ' (type only)' : ''}`;

// --- the checks ---

// One cycle per back edge of a depth-first walk (files and imports in sorted order, so the
// report is stable): every cycle in the graph holds at least one back edge, so when none is
// left there is no cycle. Each is written `src/a.ts → src/b.ts → src/a.ts`.
export function findCycles(graph: ImportGraph): string[][] {
  const out = new Map<string, string[]>();
  for (const e of graph.edges) {
    if (!out.has(e.from)) out.set(e.from, []);
    if (!out.get(e.from)!.includes(e.to)) out.get(e.from)!.push(e.to);
  }
  for (const list of out.values()) list.sort();
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of out.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  const nodes = [...new Set([...graph.files, ...graph.edges.map((e) => e.from)])].sort();
  for (const node of nodes) if (!state.has(node)) visit(node);
  return cycles;
}

// Files under src/ that no layer names.
export function unplaced(graph: ImportGraph): string[] {
  return graph.files.filter((f) => placeOf(f) === undefined);
}

// Imports from a lower layer to a higher one, and between bottom members beyond BOTTOM_PEERS.
// Imports to or from unplaced files are left to unplaced(); imports of files that do not
// exist are not arrows of the graph and are left to the type checker.
export function againstThePath(graph: ImportGraph): string[] {
  const known = new Set(graph.files);
  const bad: string[] = [];
  for (const e of graph.edges) {
    const from = placeOf(e.from);
    const to = placeOf(e.to);
    if (from === undefined || to === undefined || !known.has(e.to)) continue;
    if (to.layer < from.layer) {
      const peer = from.layer === LAYERS.length - 1 && BOTTOM_PEERS[from.member]?.some((p) => p.to === e.to && (!p.typeOnly || e.typeOnly));
      if (!peer) bad.push(`${arrow(e)}: ${LAYERS[from.layer]!.name} imports ${LAYERS[to.layer]!.name}, a higher layer`);
    } else if (to.layer === from.layer && from.layer === LAYERS.length - 1 && to.member !== from.member) {
      if (!BOTTOM_PEERS[from.member]?.some((p) => p.to === e.to && (!p.typeOnly || e.typeOnly))) {
        bad.push(`${arrow(e)}: ${from.member} may import only itself of the bottom layer${BOTTOM_PEERS[from.member] ? ` and ${BOTTOM_PEERS[from.member]!.map((p) => p.to).join(', ')}` : ''}`);
      }
    }
  }
  return bad;
}

// Imports from any file under one of `from` to any file under one of `to` (folders or files).
// With `exceptOwn`, a folder importing itself is allowed (a stage importing its own files).
export function forbidden(graph: ImportGraph, from: string[], to: string[], exceptOwn = false): string[] {
  const owner = (file: string, list: string[]): string | undefined => list.find((m) => matches(file, m));
  return graph.edges
    .filter((e) => {
      const a = owner(e.from, from);
      const b = owner(e.to, to);
      return a !== undefined && b !== undefined && !(exceptOwn && a === b);
    })
    .map(arrow);
}

const report = (what: string, list: string[]): string => `${list.length} ${what}:\n  ${list.join('\n  ')}`;

const STAGES = ['src/transform/', 'src/routing/', 'src/batching/', 'src/guard/'];

// --- the tree as it is ---

const root = fileURLToPath(new URL('..', import.meta.url));
const graph = buildGraph(root);
const cycles = findCycles(graph);
const upward = againstThePath(graph);
console.log(`architecture: ${graph.files.length} files, ${graph.edges.length} imports, ${cycles.length} cycles, ${upward.length} arrows against the path`);

test('src/ is read: files and imports are found', () => {
  assert.ok(graph.files.length > 20, `only ${graph.files.length} files under src/`);
  assert.ok(graph.edges.length > graph.files.length, `only ${graph.edges.length} imports among ${graph.files.length} files`);
});

// A cycle written out, with the hops that are `import type` alone named after it.
function describeCycle(g: ImportGraph, cycle: string[]): string {
  const hops = cycle.slice(1).map((to, i) => ({ from: cycle[i]!, to }));
  const typeOnly = hops.filter((h) => g.edges.filter((e) => e.from === h.from && e.to === h.to).every((e) => e.typeOnly));
  return cycle.join(' → ') + (typeOnly.length ? ` (type only: ${typeOnly.map((h) => `${h.from} → ${h.to}`).join(', ')})` : '');
}

test('no import cycles', () => {
  const list = cycles.map((c) => describeCycle(graph, c));
  assert.deepEqual(list, [], report('import cycles', list));
});

test('every file directly in src/ (and every folder) is placed in a layer', () => {
  const list = unplaced(graph);
  assert.deepEqual(list, [], report('files in no layer (add them to LAYERS in test/architecture.test.ts)', list));
});

test('imports only go down the layer path', () => {
  assert.deepEqual(upward, [], report('arrows against the path', upward));
});

test('backends/ imports no frontend, stage or server', () => {
  const bad = forbidden(graph, ['src/backends/'], ['src/frontends/', ...STAGES, 'src/server/']);
  assert.deepEqual(bad, [], report('imports from backends/', bad));
});

test('the stages (transform/, routing/, batching/, guard/) do not import each other', () => {
  const bad = forbidden(graph, STAGES, STAGES, true);
  assert.deepEqual(bad, [], report('imports between stages', bad));
});

test('config/ imports no stage and no registry', () => {
  const bad = forbidden(graph, ['src/config/'], [...STAGES, 'src/backends/', 'src/frontends/', 'src/server/']);
  assert.deepEqual(bad, [], report('imports from config/', bad));
});

// --- the checker itself, on made-up input ---

test('self-test: the parser finds every static import form and nothing in comments or strings', () => {
  const text = [
    '// import { no } from \'./commented.ts\';',
    '/* import \'./block.ts\';',
    '   export * from \'./block2.ts\'; */',
    'import \'./side-effect.ts\';',
    'import def, { a as b } from "./double.ts";',
    'import {',
    '  many,',
    '  type Lines,',
    '} from \'../multi.ts\';',
    'import type { T } from \'./types.ts\';',
    'import * as ns from \'./ns.ts\';',
    'export { x } from \'./re.ts\';',
    'export type { Y } from \'./re-type.ts\';',
    'export * from \'./star.ts\';',
    'export const url = \'http://not-an-import.ts\';',
    'const s = "import x from \'./in-string.ts\'";',
    'import { z } from \'zod\';',
  ].join('\n');
  assert.deepEqual(parseImports(text), [
    { specifier: './side-effect.ts', typeOnly: false },
    { specifier: './double.ts', typeOnly: false },
    { specifier: '../multi.ts', typeOnly: false },
    { specifier: './types.ts', typeOnly: true },
    { specifier: './ns.ts', typeOnly: false },
    { specifier: './re.ts', typeOnly: false },
    { specifier: './re-type.ts', typeOnly: true },
    { specifier: './star.ts', typeOnly: false },
    { specifier: 'zod', typeOnly: false },
  ]);
});

test('self-test: a made-up graph with a cycle, an upward arrow and stray files is reported', () => {
  const e = (from: string, to: string, typeOnly = false): ImportEdge => ({ from, to, typeOnly });
  const fake: ImportGraph = {
    files: ['src/main.ts', 'src/pipeline.ts', 'src/stray.ts', 'src/unknown/x.ts', 'src/guard/a.ts', 'src/guard/b.ts', 'src/routing/split.ts',
      'src/backends/http.ts', 'src/config/schema.ts', 'src/errors.ts', 'src/types.ts', 'src/tensors/tensor.ts', 'src/observe/log.ts'],
    edges: [
      e('src/main.ts', 'src/pipeline.ts'),
      e('src/pipeline.ts', 'src/routing/split.ts'),
      e('src/guard/a.ts', 'src/guard/b.ts'),
      e('src/guard/b.ts', 'src/guard/a.ts'), // cycle
      e('src/routing/split.ts', 'src/guard/a.ts'), // down the path, but stage to stage
      e('src/backends/http.ts', 'src/guard/b.ts'), // up the path
      e('src/config/schema.ts', 'src/backends/http.ts'), // up the path, config to registry
      e('src/config/schema.ts', 'src/errors.ts'), // allowed peer
      e('src/types.ts', 'src/tensors/tensor.ts', true), // the allowed type-only exception
      e('src/observe/log.ts', 'src/types.ts'), // bottom peer not allowed
      e('src/tensors/tensor.ts', 'src/errors.ts'), // down
    ],
  };
  // The walk starts from src/backends/http.ts (sorted first), so the cycle is entered at b.ts.
  assert.deepEqual(findCycles(fake), [['src/guard/b.ts', 'src/guard/a.ts', 'src/guard/b.ts']]);
  assert.deepEqual(unplaced(fake), ['src/stray.ts', 'src/unknown/x.ts']);
  const up = againstThePath(fake);
  assert.equal(up.length, 3, up.join('\n'));
  assert.match(up[0]!, /^src\/backends\/http\.ts → src\/guard\/b\.ts: backends imports guard/);
  assert.match(up[1]!, /^src\/config\/schema\.ts → src\/backends\/http\.ts: bottom imports backends/);
  assert.match(up[2]!, /^src\/observe\/log\.ts → src\/types\.ts: src\/observe\/ may import only itself/);
  assert.deepEqual(forbidden(fake, STAGES, STAGES, true), ['src/routing/split.ts → src/guard/a.ts']);
  assert.deepEqual(forbidden(fake, ['src/backends/'], STAGES), ['src/backends/http.ts → src/guard/b.ts']);
  // The types.ts exception holds for a type-only import alone.
  assert.equal(againstThePath({ files: fake.files, edges: [e('src/types.ts', 'src/tensors/tensor.ts')] }).length, 1);
  // An acyclic graph has no cycle, and one that only goes down has no arrow against the path.
  const clean: ImportGraph = { files: ['src/main.ts', 'src/server/http.ts', 'src/errors.ts'], edges: [e('src/main.ts', 'src/server/http.ts'), e('src/server/http.ts', 'src/errors.ts'), e('src/main.ts', 'src/errors.ts')] };
  assert.deepEqual(findCycles(clean), []);
  assert.deepEqual(againstThePath(clean), []);
});
