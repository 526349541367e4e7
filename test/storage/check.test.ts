// `infergate check` on a config whose models live in object storage: it validates without
// fetching anything (the storage service here is a fake that records every request).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeGcs } from '../support/fake-gcs.ts';

const main = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

// check runs `infergate check FILE` as a child, the event loop free meanwhile (the fake answers in this process).
function check(file: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, 'check', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c; });
    child.stderr.on('data', (c: Buffer) => { stderr += c; });
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

test('check accepts remote locations without fetching them, and refuses a bad one by its key path', async () => {
  const gcs = await new FakeGcs().listen();
  const dir = mkdtempSync(join(tmpdir(), 'storage-check-'));
  try {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, `
storage: { cacheDir: ${JSON.stringify(join(dir, 'cache'))}, gcs: { apiEndpoint: "${gcs.url}" } }
backends: { local: { type: onnx, modelRepository: gs://models/serving } }
models:
  iris:
    targets: [ { backend: local } ]
    transform: [ { labels: { file: gs://models/labels.txt } } ]
`);
    const ok = await check(file);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /valid/);
    // The child ran to its end: nothing asked the storage service for anything.
    assert.equal(gcs.seen.length, 0);
    writeFileSync(file, 'backends: { local: { type: onnx, modelPath: "ftp://host/model.onnx" } }\nmodels: { iris: { targets: [ { backend: local } ] } }\n');
    const bad = await check(file);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /backends\.local\.modelPath.*the scheme ftp:\/\/ is not supported/s);
  } finally {
    await gcs.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
