import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findModels } from '../../../src/backends/onnx/repository.ts';
import { GatewayError } from '../../../src/errors.ts';

function badRequest(pattern: RegExp): (err: unknown) => boolean {
  return (err) => err instanceof GatewayError && err.code === 'bad_request' && pattern.test(err.message);
}

describe('findModels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-repo-'));
  const put = (...parts: string[]): void => {
    mkdirSync(join(dir, ...parts.slice(0, -1)), { recursive: true });
    writeFileSync(join(dir, ...parts), 'x');
  };
  before(() => {
    put('iris', '1', 'model.onnx');
    put('iris', '2', 'model.onnx');
    put('iris', '10', 'model.onnx'); // numeric order: 10 is the highest
    put('iris', '11', 'other.onnx'); // no model.onnx: not a version
    put('iris', 'config.pbtxt');
    put('resnet', '3', 'model.onnx');
    put('data', 'iris.csv');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the highest version of each model by default', async () => {
    const found = await findModels({ modelRepository: dir });
    assert.deepEqual(found.map((f) => `${f.name}/${f.version}`), ['iris/10', 'resnet/3']);
    assert.equal(found[0]!.path, join(dir, 'iris', '10', 'model.onnx'));
  });

  it('loads pinned versions and refuses ones that do not exist', async () => {
    const found = await findModels({ modelRepository: dir, versions: { iris: ['1', '2'] } });
    assert.deepEqual(found.map((f) => `${f.name}/${f.version}`), ['iris/1', 'iris/2', 'resnet/3']);
    await assert.rejects(findModels({ modelRepository: dir, versions: { iris: ['11'] } }), badRequest(/no version 11 .*found 1, 2, 10/));
    await assert.rejects(findModels({ modelRepository: dir, versions: { bert: ['1'] } }), badRequest(/"bert", which is not in/));
  });

  it('refuses a missing or empty repository and a missing modelPath', async () => {
    await assert.rejects(findModels({ modelRepository: join(dir, 'nope') }), badRequest(/cannot be read/));
    await assert.rejects(findModels({ modelRepository: join(dir, 'data') }), badRequest(/holds no model.*<model>\/<version>\/model.onnx/));
    await assert.rejects(findModels({ modelPath: join(dir, 'nope.onnx') }), badRequest(/not a readable file/));
    await assert.rejects(findModels({}), badRequest(/modelRepository or modelPath/));
  });
});

// A stand-in for the Cloud Storage JSON API (objects.list and objects.get with alt=media), as
// STORAGE_EMULATOR_HOST servers such as fake-gcs-server answer it.
describe('findModels from gs://', () => {
  const objects = new Map<string, string>([
    ['models/iris/1/model.onnx', 'v1'],
    ['models/iris/2/model.onnx', 'v2'],
    ['models/iris/2/', ''], // a folder placeholder object
    ['other/x.onnx', 'single'],
  ]);
  const seen: string[] = [];
  let server: Server;
  const saved = process.env.STORAGE_EMULATOR_HOST;
  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      seen.push(`${req.method} ${url.pathname}${url.search}`);
      const list = /^\/storage\/v1\/b\/bucket\/o$/.exec(url.pathname);
      const get = /^\/storage\/v1\/b\/bucket\/o\/(.+)$/.exec(url.pathname);
      if (list !== null) {
        const prefix = url.searchParams.get('prefix') ?? '';
        const names = [...objects.keys()].filter((n) => n.startsWith(prefix));
        // two pages, to check pageToken is followed
        const page = url.searchParams.get('pageToken') === null ? names.slice(0, 1) : names.slice(1);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ items: page.map((name) => ({ name })), ...(url.searchParams.get('pageToken') === null && names.length > 1 ? { nextPageToken: 'p2' } : {}) }));
      } else if (get !== null && url.searchParams.get('alt') === 'media' && objects.has(decodeURIComponent(get[1]!))) {
        res.end(objects.get(decodeURIComponent(get[1]!)));
      } else {
        res.statusCode = 404;
        res.end('{"error":{"message":"No such object"}}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    process.env.STORAGE_EMULATOR_HOST = `127.0.0.1:${port}`;
  });
  after(() => {
    server.close();
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  });

  it('downloads a repository prefix and serves it like a folder', async () => {
    const found = await findModels({ modelRepository: 'gs://bucket/models' });
    assert.deepEqual(found.map((f) => `${f.name}/${f.version}`), ['iris/2']);
    assert.equal(readFileSync(found[0]!.path, 'utf8'), 'v2');
    assert.ok(seen.some((s) => s.includes('pageToken=p2')));
    assert.ok(seen.some((s) => s.includes('/o/models%2Firis%2F1%2Fmodel.onnx?alt=media')));
  });

  it('downloads a single object for modelPath', async () => {
    const found = await findModels({ modelPath: 'gs://bucket/other/x.onnx' });
    assert.equal(readFileSync(found[0]!.path, 'utf8'), 'single');
  });

  it('refuses a prefix with no objects and a listing error', async () => {
    await assert.rejects(findModels({ modelRepository: 'gs://bucket/empty' }), badRequest(/holds no objects/));
    await assert.rejects(findModels({ modelRepository: 'gs://otherbucket/x' }), (e: unknown) => e instanceof GatewayError && /listing gs:\/\/otherbucket\/x failed with 404/.test(e.message));
  });
});
