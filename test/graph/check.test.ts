// `infergate check` on graph configs: a valid one passes; a graph that calls itself (directly or
// through another graph), a step naming no model, a bad switch expression, a model with both or
// neither of targets and graph, and a target-only key on a graph model each exit 1, named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'infergate-graph-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function check(models: string): { code: number | null; out: string } {
  const file = join(dir, `config-${files++}.yaml`);
  writeFileSync(file, `backends: { h: { type: http, url: "http://127.0.0.1:9" } }\nmodels:\n${models}`);
  const run = spawnSync(process.execPath, [main, 'check', file], { encoding: 'utf8', timeout: 60_000 });
  return { code: run.status, out: run.stdout + run.stderr };
}

const leaf = '  m: { targets: [ { backend: h } ] }\n';

describe('infergate check on graphs', () => {
  it('passes a valid config with each graph form', () => {
    const { code, out } = check(`${leaf}
  s: { graph: { sequence: [m, { model: m, map: { x: y } }] } }
  e: { graph: { ensemble: [m, s], combine: vote, allowPartial: true }, timeoutMs: 2s }
  w: { graph: { switch: [ { when: "headers.x-a == 'b' || instances.length >= 2", model: e } ], default: m } }
`);
    assert.equal(code, 0, out);
    assert.match(out, /valid/);
  });

  it('refuses a graph that calls itself through another, naming the cycle', () => {
    const { code, out } = check(`${leaf}  a: { graph: { sequence: [m, b] } }\n  b: { graph: { ensemble: [m, a], combine: mean } }\n`);
    assert.equal(code, 1, out);
    assert.match(out, /models\.a\.graph: a graph may not call itself: a → b → a/);
  });

  it('refuses a graph that names itself, and a switch whose default is itself', () => {
    const { code, out } = check(`${leaf}  a: { graph: { sequence: [a] } }\n  w: { graph: { switch: [ { when: "true", model: m } ], default: w } }\n`);
    assert.equal(code, 1, out);
    assert.match(out, /models\.a\.graph: a graph may not call itself: a → a/);
    assert.match(out, /models\.w\.graph: a graph may not call itself: w → w/);
  });

  it('refuses a step that names no configured model', () => {
    const { code, out } = check(`${leaf}  s: { graph: { sequence: [m, nope] } }\n  w: { graph: { switch: [ { when: "true", model: gone } ] } }\n`);
    assert.equal(code, 1, out);
    assert.match(out, /models\.s\.graph\.sequence\.1: unknown model "nope"; configured: m, s, w/);
    assert.match(out, /models\.w\.graph\.switch\.0\.model: unknown model "gone"/);
  });

  it('refuses a bad switch expression at load, with its line and the position in it', () => {
    const { code, out } = check(`${leaf}  w:\n    graph:\n      switch:\n        - { when: "parameters.lang = 'de'", model: m }\n`);
    assert.equal(code, 1, out);
    assert.match(out, /:7:\d+: models\.w\.graph\.switch\.0\.when: bad expression: unexpected character "=" \(compare with ==\) at position 17/);
  });

  it('refuses a model with both targets and graph, and one with neither', () => {
    const { code, out } = check(`${leaf}  both: { targets: [ { backend: h } ], graph: { sequence: [m] } }\n  none: { timeoutMs: 1s }\n`);
    assert.equal(code, 1, out);
    assert.match(out, /models\.both\.graph: a model has `targets` or `graph`, not both/);
    assert.match(out, /models\.none: a model needs `targets` \(the backends serving it\) or `graph` \(the models it calls\)/);
  });

  it('refuses keys that configure targets on a graph model', () => {
    const { code, out } = check(`${leaf}  g: { graph: { sequence: [m] }, batching: { maxBatchSize: 8 }, allowOverride: [x] }\n`);
    assert.equal(code, 1, out);
    assert.match(out, /models\.g\.batching: `batching` configures a model's targets, and a graph model has none/);
    assert.match(out, /models\.g\.allowOverride: `allowOverride` configures/);
  });

  it('refuses a graph block that is not exactly one form, and keys of another form', () => {
    const { code, out } = check(`${leaf}  a: { graph: { sequence: [m], ensemble: [m] } }\n  b: { graph: { ensemble: [m] } }\n  c: { graph: { sequence: [m], default: m, combine: mean } }\n  d: { graph: {} }\n` +
      '  e: { graph: { ensemble: [m], combine: median } }\n');
    assert.equal(code, 1, out);
    assert.match(out, /models\.a\.graph: a graph is one of `sequence`, `ensemble` or `switch`, not `sequence` and `ensemble`/);
    assert.match(out, /models\.b\.graph\.combine: an ensemble needs `combine`: mean, vote, concat/);
    assert.match(out, /models\.c\.graph\.default: `default` belongs to a switch/);
    assert.match(out, /models\.c\.graph\.combine: `combine` belongs to an ensemble/);
    assert.match(out, /models\.d\.graph: a graph needs one of `sequence`, `ensemble` or `switch`/);
    assert.match(out, /models\.e\.graph\.combine: expected one of "mean", "vote", "concat", or \{ module: \.\/combine\.ts \}/);
  });
});
