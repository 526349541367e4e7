import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { watchConfig, type ReloadResult } from '../../src/config/watch.ts';
import { createLogger } from '../../src/observe/log.ts';

const dir = mkdtempSync(join(tmpdir(), 'infergate-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
function setup(reload: () => Promise<ReloadResult> = async () => ({ ok: true }), options: { sighup?: boolean; watchFile?: boolean } = {}) {
  const file = join(dir, `config-${fileNo++}.yaml`);
  writeFileSync(file, 'version: 1\n');
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({ write(chunk, _enc, cb) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); cb(); } });
  let calls = 0;
  const watcher = watchConfig({ file, log: createLogger('debug', sink), debounceMs: 40, sighup: options.sighup ?? false, watchFile: options.watchFile,
    reload: () => { calls++; return reload(); } });
  return { file, watcher, lines, calls: () => calls };
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const quiet = (): Promise<void> => new Promise((r) => setTimeout(r, 300));

test('a burst of writes is one reload; rewriting the same bytes is none', async () => {
  const s = setup();
  try {
    for (let i = 2; i <= 6; i++) writeFileSync(s.file, `version: ${i}\n`);
    await until('a reload', () => s.calls() === 1);
    await quiet();
    await s.watcher.settled();
    assert.equal(s.calls(), 1);
    writeFileSync(s.file, 'version: 6\n');
    await quiet();
    await s.watcher.settled();
    assert.equal(s.calls(), 1, 'same bytes: not reloaded');
    assert.ok(s.lines.some((l) => l.message === 'config reload applied'));
  } finally {
    s.watcher.close();
  }
});

test('a file replaced by rename (editors, atomic writes) is seen', async () => {
  const s = setup();
  try {
    const tmp = `${s.file}.tmp`;
    writeFileSync(tmp, 'version: 2\n');
    renameSync(tmp, s.file);
    await until('a reload after rename', () => s.calls() === 1);
    // The watch survives the rename: a second replacement is seen too.
    writeFileSync(tmp, 'version: 3\n');
    renameSync(tmp, s.file);
    await until('a second reload', () => s.calls() === 2);
  } finally {
    s.watcher.close();
  }
});

test('a Kubernetes ConfigMap swap (..data symlink) is seen', async () => {
  const base = join(dir, 'configmap');
  mkdirSync(join(base, '..v1'), { recursive: true });
  mkdirSync(join(base, '..v2'));
  writeFileSync(join(base, '..v1', 'config.yaml'), 'version: 1\n');
  writeFileSync(join(base, '..v2', 'config.yaml'), 'version: 2\n');
  symlinkSync('..v1', join(base, '..data'));
  symlinkSync(join('..data', 'config.yaml'), join(base, 'config.yaml'));
  let calls = 0;
  const watcher = watchConfig({ file: join(base, 'config.yaml'), log: createLogger('silent'), debounceMs: 40, sighup: false,
    reload: async () => { calls++; return { ok: true }; } });
  try {
    // What the kubelet does: a new symlink renamed over ..data.
    symlinkSync('..v2', join(base, '..data_tmp'));
    renameSync(join(base, '..data_tmp'), join(base, '..data'));
    await until('a reload after the ConfigMap swap', () => calls === 1);
  } finally {
    watcher.close();
  }
});

test('a rejected reload is logged with its error and the watcher keeps watching', async () => {
  let ok = false;
  const s = setup(async () => (ok ? { ok: true } : { ok: false, error: 'models.m.targets: required' }));
  try {
    writeFileSync(s.file, 'broken: [\n');
    await until('the rejected reload', () => s.calls() === 1);
    await s.watcher.settled();
    const rejected = s.lines.find((l) => l.message === 'config reload rejected; the running config is unchanged');
    assert.equal(rejected?.error, 'models.m.targets: required');
    ok = true;
    writeFileSync(s.file, 'version: 3\n');
    await until('the next reload', () => s.calls() === 2);
    await s.watcher.settled();
    assert.ok(s.lines.some((l) => l.message === 'config reload applied'));
  } finally {
    s.watcher.close();
  }
});

test('a reload that throws is reported like a rejected one', async () => {
  const s = setup(async () => { throw new Error('boom'); }, { watchFile: false });
  try {
    s.watcher.trigger('admin');
    await until('the reload', () => s.calls() === 1);
    await s.watcher.settled();
    assert.ok(s.lines.some((l) => l.error === 'boom' && l.severity === 'ERROR'));
  } finally {
    s.watcher.close();
  }
});

test('reloads never overlap: a trigger during one runs once more after it', async () => {
  let running = 0;
  let most = 0;
  const gates: Array<() => void> = [];
  const s = setup(() => {
    running++;
    most = Math.max(most, running);
    return new Promise((resolve) => gates.push(() => { running--; resolve({ ok: true }); }));
  }, { watchFile: false });
  try {
    s.watcher.trigger('admin');
    await until('the first reload', () => gates.length === 1);
    s.watcher.trigger('admin');
    s.watcher.trigger('SIGHUP');
    await quiet();
    assert.equal(s.calls(), 1, 'the second waits for the first');
    gates.shift()!();
    await until('the follow-up reload', () => gates.length === 1);
    gates.shift()!();
    await s.watcher.settled();
    assert.equal(s.calls(), 2, 'two triggers during a reload make one more');
    assert.equal(most, 1);
  } finally {
    s.watcher.close();
  }
});

test('SIGHUP reloads even when the file is unchanged; close removes the handler', async () => {
  const before = process.listenerCount('SIGHUP');
  const s = setup(undefined, { sighup: true, watchFile: false });
  assert.equal(process.listenerCount('SIGHUP'), before + 1);
  try {
    process.kill(process.pid, 'SIGHUP');
    await until('the SIGHUP reload', () => s.calls() === 1);
    await s.watcher.settled();
    assert.ok(s.lines.some((l) => l.message === 'config reload requested' && (l.sources as string[]).includes('SIGHUP')));
  } finally {
    s.watcher.close();
  }
  assert.equal(process.listenerCount('SIGHUP'), before);
  s.watcher.trigger('admin');
  await quiet();
  assert.equal(s.calls(), 1, 'a closed watcher does nothing');
});

test('a file that disappears is not reloaded until it is back', async () => {
  const s = setup();
  try {
    unlinkSync(s.file);
    await quiet();
    await s.watcher.settled();
    assert.equal(s.calls(), 0);
    writeFileSync(s.file, 'version: 9\n');
    await until('the reload once it is back', () => s.calls() === 1);
  } finally {
    s.watcher.close();
  }
});
