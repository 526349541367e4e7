// plain-yaml.ts against the yaml library: whatever the fast reader accepts, it must read exactly
// as the library does (core schema), and it must give up on whatever the library refuses. The
// repository's own YAML files, hand-picked edge cases, yaml.stringify output of random values in
// block and flow styles, and random corruptions of a real config.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDocument, stringify } from 'yaml';
import { readPlainYaml } from '../../src/config/plain-yaml.ts';

const root = new URL('../../', import.meta.url).pathname;

// library gives what the yaml library reads, or undefined where it reports an error.
function library(text: string): { value: unknown } | undefined {
  const doc = parseDocument(text, { uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) return undefined;
  return { value: doc.toJS({ maxAliasCount: 100 }) ?? null };
}

// agrees: the fast reader gives up, or reads what the library reads (and never reads what the library refuses).
function agrees(text: string): boolean {
  const fast = readPlainYaml(text);
  if (fast === undefined) return true;
  const lib = library(text);
  assert.ok(lib !== undefined, `the fast reader accepted YAML the library refuses:\n${text}`);
  assert.deepEqual(fast.value, lib.value, text);
  return true;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

describe('plain-yaml: the fast config reader', () => {
  it('reads every YAML file in the repository as the yaml library does, and reads all the bundled configs itself', () => {
    const files = ['config', 'examples', 'deploy', 'test'].flatMap((d) => yamlFiles(join(root, d)));
    assert.ok(files.length > 10);
    for (const file of files) agrees(readFileSync(file, 'utf8'));
    for (const file of yamlFiles(join(root, 'config'))) {
      assert.ok(readPlainYaml(readFileSync(file, 'utf8')) !== undefined, `${file} takes the fast path`);
    }
  });

  it('reads the edge cases of the subset exactly, and gives up outside it', () => {
    const read = [
      'a: 1\nb: -2.5\nc: 0x1F\nd: 0o17\ne: .inf\nf: -.Inf\ng: .nan\nh: 1e3\ni: +5\nj: 1_000\nk: 007\nl: 1.\n',
      'a: ~\nb: null\nc: NULL\nd:\ne: True\nf: FALSE\ng: yes\nh: on\n',
      'a: x # comment\nb: x#y\nc: "q # not a comment"\nd: \'it\'\'s\'\ne: "tab\\tnew\\nline \\u00e9 \\\\ \\""\n',
      'url: http://127.0.0.1:8080/x?y=1\nroute: /v1/{model}\nenv: ${AIP_HTTP_PORT:-8080}\n',
      'list:\n- a\n- b\nnested:\n  - { x: 1, y: [1, 2, ] }\n  - - inner\n    - - deeper\n-d: 1\n',
      'items:\n  - name: a\n    weight: 1\n  - name: b\n    sub:\n      deep: true\n',
      'flow: { a: , b: 1, "c d": [], e: {}, f: [ { g: h } ] }\nempty: []\n',
      'a:\n  # comment inside\n  b: 1\n\n\n  c: 2\n# trailing\n',
      '"quoted key": 1\n\'single\': 2\nkey with spaces: 3\n',
      '- 1\n- two\n-\n  three: 3\n',
    ];
    for (const text of read) {
      assert.ok(readPlainYaml(text) !== undefined, `read: ${text}`);
      agrees(text);
    }
    const givenUp = [
      'a: &x 1\nb: *x\n', 'a: !!str 1\n', 'a: |\n  block\n', 'a: >-\n  folded\n', 'a: multi\n  line\n',
      '---\na: 1\n', 'a: 1\na: 2\n', 'a: { b: 1,\n  c: 2 }\n', 'a: b: c\n', 'a: "open\n', '? complex\n: key\n',
      '<<: { a: 1 }\n', '__proto__: 1\n', '1: one\n', 'true: yes\n', '- ? a\n', 'a:\tb\n', 'a: 1\r\nb: 2\r\n', '  a: 1\n',
      'a: [1, 2\n', 'a: { b }\n', 'a: [b: 1]\n', 'a: "\\x41"\n', 'a: 1\n - b\n', '{ a: 1 }\n', 'scalar\n',
      // A "#" right after a value is no comment: the library refuses these.
      'a: {}#c\n', 'a: [1]#\n', 'a: "v"#c\n',
    ];
    for (const text of givenUp) {
      assert.equal(readPlainYaml(text), undefined, `given up: ${JSON.stringify(text)}`);
    }
  });

  it('reads what yaml.stringify writes, in block and in flow style, as the library reads it back', () => {
    const key = fc.oneof(fc.constantFrom('a', 'b c', 'x-y', 'on', '1', 'true', '', ' lead', 'k:v', 'a#b', '#c', '-d', "it's", 'é'), fc.string({ maxLength: 6 }));
    const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('~', 'null', '0x1F', '1e3', '.inf', 'a: b', '- x', '[x]', '{y}', '#z', 'q"r', "s'" , ' t ', 'http://h:1/p'),
      fc.integer(), fc.double({ noNaN: false }), fc.boolean(), fc.constant(null));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(key, tie('node'), { maxKeys: 4 })),
    })).node;
    let read = 0;
    fc.assert(fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), fc.constantFrom('block', 'flow'), fc.boolean(), (doc, style, indentSeq) => {
      const text = stringify(doc, { collectionStyle: style as 'block' | 'flow', indentSeq, lineWidth: 0 });
      if (readPlainYaml(text) !== undefined) read++;
      return agrees(text);
    }), { numRuns: 400 });
    assert.ok(read > 100, `the fast reader read ${read} of 400 documents (flow-style roots, half of them, are given up): the comparison must not be vacuous`);
  });

  it('never reads a corrupted config differently from the library', () => {
    const base = readFileSync(join(root, 'config/default.yaml'), 'utf8');
    let read = 0;
    const noise = fc.constantFrom(':', ' ', '-', '#', '"', "'", '{', '}', '[', ']', ',', '\n', '  ', '&', '*', '!', '|', '>', '?', 'x', '1', '$');
    fc.assert(fc.property(fc.array(fc.tuple(fc.nat({ max: base.length }), noise), { minLength: 1, maxLength: 3 }), (edits) => {
      let text = base;
      for (const [at, c] of edits) text = text.slice(0, at) + c + text.slice(at);
      if (readPlainYaml(text) !== undefined) read++;
      return agrees(text);
    }), { numRuns: 600 });
    assert.ok(read > 100, `the fast reader read ${read} of 600 corruptions`);
  });

  it('hands every string scalar, keys too, to the caller with whether it was plain', () => {
    const seen: Array<[string, boolean]> = [];
    const read = readPlainYaml('port: ${P:-8080}\n"k": \'v\'\nl: [ x ]\n', (s, plain) => { seen.push([s, plain]); return s === '${P:-8080}' ? 8080 : s; });
    assert.deepEqual(read, { value: { port: 8080, k: 'v', l: ['x'] } });
    assert.deepEqual(seen, [['port', true], ['${P:-8080}', true], ['k', false], ['v', false], ['l', true], ['x', true]]);
  });
});
