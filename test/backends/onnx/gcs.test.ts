import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { createLocalJWKSet, exportJWK, jwtVerify } from 'jose';
import { downloadPrefix } from '../../../src/backends/onnx/gcs.ts';
import { GatewayError } from '../../../src/errors.ts';

// A stand-in for the Cloud Storage JSON API (objects.list with prefix and pageToken, objects.get
// with alt=media) and for the OAuth token endpoint, on 127.0.0.1.
interface Seen { method: string; path: string; query: URLSearchParams; headers: IncomingMessage['headers']; body: string }

const buckets = new Map<string, Map<string, Buffer>>();
const failures = new Map<string, { status: number; body: string }>(); // "list:<bucket>" or "get:<bucket>/<name>"
const seen: Seen[] = [];
let tokenAnswer: { status: number; body: unknown } = { status: 200, body: { access_token: 'tok-123', expires_in: 3600 } };
const pageSize = 2;

function fakeGcs(req: IncomingMessage, body: string, res: import('node:http').ServerResponse): void {
  const url = new URL(req.url!, 'http://x');
  seen.push({ method: req.method!, path: url.pathname, query: url.searchParams, headers: req.headers, body });
  const json = (status: number, doc: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(doc));
  };
  if (url.pathname === '/token' || url.pathname.endsWith('/service-accounts/default/token')) {
    json(tokenAnswer.status, tokenAnswer.body);
    return;
  }
  const list = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
  const get = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
  const bucketName = decodeURIComponent((list ?? get)?.[1] ?? '');
  const failure = list ? failures.get(`list:${bucketName}`) : get ? failures.get(`get:${bucketName}/${decodeURIComponent(get[2]!)}`) : undefined;
  if (failure !== undefined) {
    res.writeHead(failure.status, { 'content-type': 'application/json' });
    res.end(failure.body);
    return;
  }
  const bucket = buckets.get(bucketName);
  if (bucket === undefined) {
    json(404, { error: { code: 404, message: 'The specified bucket does not exist.' } });
    return;
  }
  if (list !== null) {
    const prefix = url.searchParams.get('prefix') ?? '';
    const names = [...bucket.keys()].filter((n) => n.startsWith(prefix)).sort();
    const start = Number(url.searchParams.get('pageToken') ?? '0');
    const next = start + pageSize < names.length ? String(start + pageSize) : undefined;
    json(200, { kind: 'storage#objects', items: names.slice(start, start + pageSize).map((name) => ({ kind: 'storage#object', name, bucket: bucketName })), ...(next ? { nextPageToken: next } : {}) });
    return;
  }
  const name = get === null ? undefined : decodeURIComponent(get[2]!);
  if (name !== undefined && url.searchParams.get('alt') === 'media' && bucket.has(name)) {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(bucket.get(name));
    return;
  }
  json(404, { error: { code: 404, message: `No such object: ${bucketName}/${name}` } });
}

const rejectsWith = (code: string, pattern: RegExp) => (err: unknown): boolean => {
  assert.ok(err instanceof GatewayError, String(err));
  assert.equal(err.code, code);
  assert.match(err.message, pattern);
  return true;
};

describe('downloadPrefix', () => {
  let server: Server;
  let origin = '';
  const work = mkdtempSync(join(tmpdir(), 'gcs-test-'));
  const saved = {
    STORAGE_EMULATOR_HOST: process.env.STORAGE_EMULATOR_HOST,
    GOOGLE_APPLICATION_CREDENTIALS: process.env.GOOGLE_APPLICATION_CREDENTIALS,
  };
  const realFetch = globalThis.fetch;
  const weights = randomBytes(70_000);
  let n = 0;
  const fresh = (): string => join(work, `dl-${++n}`);

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => { body += c; });
      req.on('end', () => fakeGcs(req, body, res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `127.0.0.1:${(server.address() as { port: number }).port}`;
    buckets.set('models-bucket', new Map([
      ['serving/iris/1/model.onnx', weights],
      ['serving/iris/1/', Buffer.alloc(0)], // a "folder" placeholder object, skipped
      ['serving/iris/config.txt', Buffer.from('labels: 3')],
      ['serving/deep/a/b/c.bin', Buffer.from('deep')],
      ['serving/with space#and?.txt', Buffer.from('odd name')],
      ['serving-other/not-mine.txt', Buffer.from('outside the prefix')],
      ['single/model.onnx', Buffer.from('one file')],
    ]));
    buckets.set('empty-bucket', new Map());
  });

  beforeEach(() => {
    seen.length = 0;
    failures.clear();
    tokenAnswer = { status: 200, body: { access_token: 'tok-123', expires_in: 3600 } };
    process.env.STORAGE_EMULATOR_HOST = origin;
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  });

  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  after(async () => {
    globalThis.fetch = realFetch;
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(work, { recursive: true, force: true });
  });

  describe('with STORAGE_EMULATOR_HOST', () => {
    it('copies every object under a prefix into the folder, keeping sub-folders and bytes, and returns the folder', async () => {
      const dir = fresh();
      const got = await downloadPrefix('gs://models-bucket/serving', dir);
      assert.equal(got, dir);
      assert.deepEqual(readFileSync(join(dir, 'iris', '1', 'model.onnx')), weights);
      assert.equal(readFileSync(join(dir, 'iris', 'config.txt'), 'utf8'), 'labels: 3');
      assert.equal(readFileSync(join(dir, 'deep', 'a', 'b', 'c.bin'), 'utf8'), 'deep');
      assert.equal(readFileSync(join(dir, 'with space#and?.txt'), 'utf8'), 'odd name');
      // "serving-other/" shares the string prefix but is not under the folder
      assert.deepEqual(readdirSync(dir).sort(), ['deep', 'iris', 'with space#and?.txt']);
    });

    it('lists with the prefix, follows every page, and asks for each object with alt=media, names encoded', async () => {
      await downloadPrefix('gs://models-bucket/serving/', fresh());
      const lists = seen.filter((s) => s.path === '/storage/v1/b/models-bucket/o');
      assert.ok(lists.length >= 3, `pages fetched: ${lists.length}`);
      assert.ok(lists.every((s) => s.method === 'GET' && s.query.get('prefix') === 'serving/'));
      assert.deepEqual(lists.map((s) => s.query.get('pageToken')), [null, ...lists.slice(1).map((_, i) => String((i + 1) * pageSize))]);
      const gets = seen.filter((s) => s.path.startsWith('/storage/v1/b/models-bucket/o/'));
      assert.equal(gets.length, 4); // the folder placeholder and the object outside the prefix are not fetched
      assert.ok(gets.every((s) => s.query.get('alt') === 'media'));
      assert.ok(gets.some((s) => s.path === '/storage/v1/b/models-bucket/o/serving%2Firis%2F1%2Fmodel.onnx'));
      assert.ok(gets.some((s) => s.path === '/storage/v1/b/models-bucket/o/serving%2Fwith%20space%23and%3F.txt'));
    });

    it('sends no credentials to the emulator', async () => {
      process.env.GOOGLE_APPLICATION_CREDENTIALS = join(work, 'does-not-exist.json');
      await downloadPrefix('gs://models-bucket/single', fresh());
      assert.ok(seen.length > 0);
      assert.ok(seen.every((s) => s.headers.authorization === undefined));
    });

    it('accepts the emulator as host:port or as a URL with a trailing slash', async () => {
      process.env.STORAGE_EMULATOR_HOST = `http://${origin}/`;
      const dir = fresh();
      assert.equal(await downloadPrefix('gs://models-bucket/single', dir), dir);
      assert.equal(readFileSync(join(dir, 'model.onnx'), 'utf8'), 'one file');
    });

    it('returns the file for an exact object name', async () => {
      const dir = fresh();
      const got = await downloadPrefix('gs://models-bucket/single/model.onnx', dir);
      assert.equal(got, join(dir, 'model.onnx'));
      assert.equal(readFileSync(got, 'utf8'), 'one file');
      assert.deepEqual(readdirSync(dir), ['model.onnx']);
    });

    it('copies the whole bucket for gs://bucket and gs://bucket/', async () => {
      for (const uri of ['gs://models-bucket', 'gs://models-bucket/']) {
        const dir = fresh();
        assert.equal(await downloadPrefix(uri, dir), dir);
        assert.equal(readFileSync(join(dir, 'serving-other', 'not-mine.txt'), 'utf8'), 'outside the prefix');
        assert.equal(readFileSync(join(dir, 'single', 'model.onnx'), 'utf8'), 'one file');
        assert.deepEqual(readFileSync(join(dir, 'serving', 'iris', '1', 'model.onnx')), weights);
      }
    });

    it('makes a temporary folder when none is given', async () => {
      const got = await downloadPrefix('gs://models-bucket/single');
      try {
        assert.ok(got.startsWith(join(tmpdir(), 'infergate-models-')), got);
        assert.equal(readFileSync(join(got, 'model.onnx'), 'utf8'), 'one file');
      } finally {
        rmSync(got, { recursive: true, force: true });
      }
    });

    it('refuses a URI that is not gs://bucket/path with bad_request', async () => {
      for (const uri of ['s3://bucket/x', 'gs://', 'gs:///x', 'bucket/x', 'https://storage.googleapis.com/b/x', '']) {
        await assert.rejects(downloadPrefix(uri, fresh()), rejectsWith('bad_request', /is not a gs:\/\/bucket\/path URI/));
      }
      assert.equal(seen.length, 0);
    });

    it('refuses a prefix with no objects, or only folder placeholders, with bad_request', async () => {
      await assert.rejects(downloadPrefix('gs://models-bucket/nothing-here', fresh()), rejectsWith('bad_request', /gs:\/\/models-bucket\/nothing-here holds no objects/));
      await assert.rejects(downloadPrefix('gs://empty-bucket', fresh()), rejectsWith('bad_request', /gs:\/\/empty-bucket holds no objects/));
      buckets.get('empty-bucket')!.set('dir/', Buffer.alloc(0));
      try {
        await assert.rejects(downloadPrefix('gs://empty-bucket/dir', fresh()), rejectsWith('bad_request', /holds no objects/));
      } finally {
        buckets.get('empty-bucket')!.clear();
      }
    });

    it('turns a 404 listing into backend_unavailable naming the URI, the status and the answer', async () => {
      await assert.rejects(downloadPrefix('gs://no-such-bucket/models', fresh()),
        rejectsWith('backend_unavailable', /^listing gs:\/\/no-such-bucket\/models failed with 404: .*The specified bucket does not exist/));
    });

    it('turns a 403 listing into backend_unavailable with the reason', async () => {
      failures.set('list:models-bucket', { status: 403, body: '{"error":{"code":403,"message":"caller does not have storage.objects.list access"}}' });
      await assert.rejects(downloadPrefix('gs://models-bucket/serving', fresh()),
        rejectsWith('backend_unavailable', /listing gs:\/\/models-bucket\/serving failed with 403: .*storage\.objects\.list access/));
    });

    it('turns a failed object download into backend_unavailable naming the object', async () => {
      failures.set('get:models-bucket/serving/iris/config.txt', { status: 403, body: '{"error":{"message":"no storage.objects.get"}}' });
      await assert.rejects(downloadPrefix('gs://models-bucket/serving', fresh()),
        rejectsWith('backend_unavailable', /^downloading gs:\/\/models-bucket\/serving\/iris\/config\.txt failed with 403: .*no storage\.objects\.get/));
      failures.clear();
      failures.set('get:models-bucket/single/model.onnx', { status: 404, body: 'gone' });
      await assert.rejects(downloadPrefix('gs://models-bucket/single/model.onnx', fresh()),
        rejectsWith('backend_unavailable', /downloading gs:\/\/models-bucket\/single\/model\.onnx failed with 404: gone$/));
    });

    it('clips a long error answer', async () => {
      failures.set('list:models-bucket', { status: 500, body: 'x'.repeat(5000) });
      await assert.rejects(downloadPrefix('gs://models-bucket/serving', fresh()), (err: unknown) => {
        assert.ok(err instanceof GatewayError);
        assert.ok(err.message.length < 300, `message length ${err.message.length}`);
        assert.match(err.message, /failed with 500: x+…$/);
        return true;
      });
    });

    it('refuses an object name that would land outside the download folder', async () => {
      buckets.set('evil', new Map([['m/../../../escaped.txt', Buffer.from('pwned')]]));
      const dir = fresh();
      try {
        await assert.rejects(downloadPrefix('gs://evil/m', dir), rejectsWith('bad_request', /object m\/\.\.\/\.\.\/\.\.\/escaped\.txt in gs:\/\/evil\/m escapes the download folder/));
        assert.equal(existsSync(join(dir, '..', '..', 'escaped.txt')), false);
      } finally {
        buckets.delete('evil');
      }
    });

    it('rejects, writing nothing, when the storage server cannot be reached', async () => {
      process.env.STORAGE_EMULATOR_HOST = '127.0.0.1:1';
      const dir = fresh();
      await assert.rejects(downloadPrefix('gs://models-bucket/serving', dir), (err: unknown) => err instanceof Error);
      assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], []);
    });
  });

  describe('with Application Default Credentials', () => {
    // Cloud Storage itself and the metadata server are not reachable from a test: their
    // requests are sent to the fake server instead, keeping path, query and headers.
    function redirect(): void {
      globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) => {
        const url = String(input instanceof Request ? input.url : input)
          .replace('https://storage.googleapis.com', `http://${origin}`)
          .replace('http://metadata.google.internal', `http://${origin}`);
        return realFetch(url, init);
      }) as typeof fetch;
    }

    beforeEach(() => {
      delete process.env.STORAGE_EMULATOR_HOST;
      redirect();
    });

    function keyFile(doc: Record<string, unknown>): string {
      const file = join(work, `key-${++n}.json`);
      writeFileSync(file, JSON.stringify(doc));
      return file;
    }

    it('signs a JWT for a service account key, trades it for a token and sends it as Bearer', async () => {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile({
        type: 'service_account', client_email: 'sa@proj.iam.gserviceaccount.com', private_key_id: 'kid-1',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: `http://${origin}/token`,
      });
      const dir = fresh();
      await downloadPrefix('gs://models-bucket/single', dir);
      assert.equal(readFileSync(join(dir, 'model.onnx'), 'utf8'), 'one file');

      const token = seen.find((s) => s.path === '/token')!;
      assert.equal(token.method, 'POST');
      const form = new URLSearchParams(token.body);
      assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:jwt-bearer');
      const jwk = { ...(await exportJWK(publicKey)), kid: 'kid-1', alg: 'RS256' };
      const { payload, protectedHeader } = await jwtVerify(form.get('assertion')!, createLocalJWKSet({ keys: [jwk] }), {
        issuer: 'sa@proj.iam.gserviceaccount.com', audience: `http://${origin}/token`,
      });
      assert.equal(protectedHeader.alg, 'RS256');
      assert.equal(protectedHeader.kid, 'kid-1');
      assert.equal(payload.scope, 'https://www.googleapis.com/auth/devstorage.read_only');
      assert.ok(payload.exp! > payload.iat!);

      const storage = seen.filter((s) => s.path.startsWith('/storage/'));
      assert.ok(storage.length >= 2);
      assert.ok(storage.every((s) => s.headers.authorization === 'Bearer tok-123'));
    });

    it('uses the refresh token of an authorized user key', async () => {
      process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile({
        type: 'authorized_user', client_id: 'cid', client_secret: 'csecret', refresh_token: 'rtok', token_uri: `http://${origin}/token`,
      });
      tokenAnswer = { status: 200, body: { access_token: 'user-tok' } };
      await downloadPrefix('gs://models-bucket/single', fresh());
      const form = new URLSearchParams(seen.find((s) => s.path === '/token')!.body);
      assert.deepEqual(Object.fromEntries(form), { grant_type: 'refresh_token', refresh_token: 'rtok', client_id: 'cid', client_secret: 'csecret' });
      assert.ok(seen.filter((s) => s.path.startsWith('/storage/')).every((s) => s.headers.authorization === 'Bearer user-tok'));
    });

    it('refuses a key file of another type with bad_request naming the supported ones', async () => {
      const file = keyFile({ type: 'external_account', audience: 'x' });
      process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
      await assert.rejects(downloadPrefix('gs://models-bucket/single', fresh()),
        rejectsWith('bad_request', /has type external_account; supported: service_account, authorized_user/));
      assert.equal(seen.length, 0);
    });

    it('turns a refused token request into backend_unavailable with the OAuth reason, before any storage call', async () => {
      process.env.GOOGLE_APPLICATION_CREDENTIALS = keyFile({
        type: 'authorized_user', client_id: 'cid', client_secret: 'csecret', refresh_token: 'revoked', token_uri: `http://${origin}/token`,
      });
      tokenAnswer = { status: 400, body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' } };
      await assert.rejects(downloadPrefix('gs://models-bucket/single', fresh()),
        rejectsWith('backend_unavailable', /getting a Google access token from http:\/\/127\.0\.0\.1:\d+\/token failed with 400: Token has been expired or revoked\./));
      tokenAnswer = { status: 200, body: { token_type: 'Bearer' } }; // 200 but no access_token
      await assert.rejects(downloadPrefix('gs://models-bucket/single', fresh()), rejectsWith('backend_unavailable', /access token .* failed with 200$/));
      assert.equal(seen.filter((s) => s.path.startsWith('/storage/')).length, 0);
    });

    it('asks the metadata server, with Metadata-Flavor: Google, when no key file is set', async () => {
      tokenAnswer = { status: 200, body: { access_token: 'meta-tok', expires_in: 3599, token_type: 'Bearer' } };
      await downloadPrefix('gs://models-bucket/single', fresh());
      const meta = seen.find((s) => s.path === '/computeMetadata/v1/instance/service-accounts/default/token')!;
      assert.equal(meta.headers['metadata-flavor'], 'Google');
      assert.ok(seen.filter((s) => s.path.startsWith('/storage/')).every((s) => s.headers.authorization === 'Bearer meta-tok'));
    });

    it('says how to provide credentials when the metadata server cannot be reached', async () => {
      globalThis.fetch = ((input: string | URL | Request, init?: RequestInit) =>
        realFetch(String(input).replace('http://metadata.google.internal', 'http://127.0.0.1:1'), init)) as typeof fetch;
      await assert.rejects(downloadPrefix('gs://models-bucket/single', fresh()),
        rejectsWith('backend_unavailable', /no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS .*STORAGE_EMULATOR_HOST/));
    });

    it('passes on the metadata server refusing a token', async () => {
      tokenAnswer = { status: 404, body: { error: 'not_found' } };
      await assert.rejects(downloadPrefix('gs://models-bucket/single', fresh()),
        rejectsWith('backend_unavailable', /getting a Google access token from the metadata server failed with 404/));
    });
  });
});

it('an object name cannot escape into a sibling folder sharing the folder name as prefix', async (t) => {
  const name = 'm/../models-evil/x.txt';
  const server = createServer((req, res) => (new URL(req.url!, 'http://x').pathname === '/storage/v1/b/b/o' ? res.end(JSON.stringify({ items: [{ name }] })) : res.end('pwned')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const saved = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = `127.0.0.1:${(server.address() as { port: number }).port}`;
  const root = mkdtempSync(join(tmpdir(), 'escape-'));
  t.after(() => {
    server.close();
    rmSync(root, { recursive: true, force: true });
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST; else process.env.STORAGE_EMULATOR_HOST = saved;
  });
  await assert.rejects(downloadPrefix('gs://b/m', join(root, 'models')), /escapes the download folder/);
  assert.equal(existsSync(join(root, 'models-evil', 'x.txt')), false);
});
