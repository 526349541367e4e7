// Authentication, rate limits and secrets in logs, end to end (issue 9 items 6–8): every path of
// both schemes (API keys, bearer JWTs from a JWKS URL or a shared secret) answers 401/403 JSON
// with WWW-Authenticate, health and metadata GETs stay open, the admin port has its own token,
// a client over its rate gets 429 + Retry-After while another is unaffected, and no key, token
// or secret appears in the gateway's output at logLevel debug.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey } from 'jose';
import { startEchoBackend, type EchoBackend } from '../support/echo-backend.ts';
import { startGateway, type RunningGateway } from '../support/gateway.ts';

const secrets = {
  API_KEY_A: 'ka-7f3c9a1e5b2d4c6a8e0f1b3d5c7a9e1f',
  API_KEY_B: 'kb-0e2c4a6b8d0f2e4c6a8b0d2f4e6c8a0b',
  // Two keys with the same first characters: each is its own client for the rate limit.
  API_KEY_C: 'same-prefix-c-91b2c3d4e5f60718293a',
  API_KEY_D: 'same-prefix-d-a1b2c3d4e5f60718293b',
  JWT_SECRET: 'hs-secret-5d8e1f4a7b0c3d6e9f2a5b8c1d4e7f0a',
  ADMIN_TOKEN: 'admin-token-3c6f9b2e5a8d1c4f7b0e3a6d',
};
const wrongKey = 'wrong-key-00112233445566778899aabb';
const used: string[] = [];

let echo: EchoBackend;
let gw: RunningGateway;
let jwks: Server;
let rsaPrivate: CryptoKey;
let otherPrivate: CryptoKey;
let rsaPublicPem: string;

before(async () => {
  const pair = await generateKeyPair('RS256');
  rsaPrivate = pair.privateKey;
  rsaPublicPem = await exportSPKI(pair.publicKey);
  otherPrivate = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  echo = await startEchoBackend();
  gw = await startGateway(`
server: { logLevel: debug, adminToken: "\${ADMIN_TOKEN}" }
frontends:
  kserve:
    auth:
      apiKeys: { keys: ["\${API_KEY_A}", "\${API_KEY_B}", "\${API_KEY_C}", "\${API_KEY_D}"] }
      jwt: { jwksUrl: "http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json", issuer: "https://issuer.test", audience: infergate, clockToleranceSeconds: 0 }
    rateLimit: { requestsPerSecond: 0.1, burst: 3, key: client }
  oci:
    predictRoute: /oci/predict
    healthRoute: /oci/health
    model: web
    auth:
      jwt: { secret: "\${JWT_SECRET}", issuer: iss-oci, audience: aud-oci, clockToleranceSeconds: 0 }
    rateLimit: { requestsPerSecond: 0.1, burst: 2, key: "header:x-client" }
  vertex:
    model: web
    predictRoute: /predict
    healthRoute: /health
    rawPredictRoute: /raw
    rawBackend: pass
    auth:
      apiKeys: { header: authorization, keys: ["\${API_KEY_B}"] }
backends:
  echo: { type: http, url: "${echo.url}" }
  pass: { type: passthrough, url: "${echo.url}" }
models:
  web: { targets: [ { backend: echo } ] }
`, { env: secrets });
});

after(async () => {
  await gw?.stop();
  await echo?.close();
  await new Promise<void>((r) => jwks?.close(() => r()));
});

const body = '{"instances":[[1,2]]}';
const now = (): number => Math.floor(Date.now() / 1000);

async function rsToken(claims: { iss?: string; aud?: string; exp?: number; nbf?: number; sub?: string }, key: CryptoKey = rsaPrivate, kid = 'k1'): Promise<string> {
  let j = new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid }).setSubject(claims.sub ?? 'alice').setIssuedAt();
  if (claims.iss !== undefined) j = j.setIssuer(claims.iss);
  if (claims.aud !== undefined) j = j.setAudience(claims.aud);
  if (claims.nbf !== undefined) j = j.setNotBefore(claims.nbf);
  const t = await j.setExpirationTime(claims.exp ?? now() + 300).sign(key);
  used.push(t);
  return t;
}

async function hsToken(claims: { iss?: string; aud?: string; exp?: number; sub?: string }, secret = secrets.JWT_SECRET): Promise<string> {
  let j = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(claims.sub ?? 'olga');
  if (claims.iss !== undefined) j = j.setIssuer(claims.iss);
  if (claims.aud !== undefined) j = j.setAudience(claims.aud);
  const t = await j.setExpirationTime(claims.exp ?? now() + 300).sign(new TextEncoder().encode(secret));
  used.push(t);
  return t;
}

const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

async function call(path: string, headers: Record<string, string>, method = 'POST', url = gw.url): Promise<{ status: number; headers: Headers; json: { error?: string; code?: string } }> {
  const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'POST' ? body : undefined });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text === '' ? {} : JSON.parse(text) as { error?: string; code?: string } };
}

function denied(r: Awaited<ReturnType<typeof call>>, status: 401 | 403, what: string): void {
  assert.equal(r.status, status, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
  assert.equal(r.json.code, status === 401 ? 'unauthorized' : 'forbidden', what);
  assert.equal(typeof r.json.error, 'string', what);
  assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/, `${what}: WWW-Authenticate`);
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/, what);
}

test('API keys and RS256 JWTs from a JWKS URL: every path', async () => {
  const p = '/v1/models/web:predict';
  denied(await call(p, {}), 401, 'no credentials');
  denied(await call(p, { 'x-api-key': wrongKey }), 401, 'wrong key');
  denied(await call(p, { 'x-api-key': secrets.API_KEY_A.slice(0, -1) }), 401, 'key prefix');
  denied(await call(p, { 'x-api-key': `${secrets.API_KEY_A} ` + 'x' }), 401, 'key with a suffix');
  denied(await call(p, { 'x-api-key': secrets.API_KEY_A.toUpperCase() }), 401, 'key in another case');
  denied(await call(p, { authorization: `Bearer ${secrets.API_KEY_A}` }), 401, 'key in the wrong header');
  assert.equal((await call(p, { 'x-api-key': secrets.API_KEY_A })).status, 200, 'good key');

  assert.equal((await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test', aud: 'infergate', sub: 'jwt-good' })}` })).status, 200, 'good token');
  const expired = await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test', aud: 'infergate', exp: now() - 60 })}` });
  denied(expired, 401, 'expired token');
  assert.match(expired.headers.get('www-authenticate') ?? '', /invalid_token/);
  denied(await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test', aud: 'someone-else' })}` }), 403, 'wrong audience');
  denied(await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://evil.test', aud: 'infergate' })}` }), 403, 'wrong issuer');
  denied(await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test' })}` }), 403, 'no audience');
  denied(await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test', aud: 'infergate' }, otherPrivate)}` }), 401, 'forged signature');
  denied(await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test', aud: 'infergate' }, rsaPrivate, 'unknown-kid')}` }), 401, 'unknown kid');
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: 'https://issuer.test', aud: 'infergate', exp: now() + 60 })}.`;
  denied(await call(p, { authorization: `Bearer ${unsigned}` }), 401, 'alg none');
  // Algorithm confusion: HS256 "signed" with the RSA public key as the secret.
  const confused = await new SignJWT({}).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer('https://issuer.test').setAudience('infergate')
    .setExpirationTime(now() + 60).sign(new TextEncoder().encode(rsaPublicPem));
  denied(await call(p, { authorization: `Bearer ${confused}` }), 401, 'HS256 with the public key');
  denied(await call(p, { authorization: 'Bearer a.b' }), 401, 'malformed token');
  denied(await call(p, { authorization: 'Bearer a.b.c' }), 401, 'garbage token');
  denied(await call(p, { authorization: `Basic ${Buffer.from(`u:${secrets.API_KEY_A}`).toString('base64')}` }), 401, 'basic auth');
  const future = await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test', aud: 'infergate', nbf: now() + 600 })}` });
  assert.ok(future.status === 401 || future.status === 403, `not yet valid: ${future.status}`);
});

test('HS256 shared-secret JWTs (oci) and API keys as Bearer (vertex, raw route included)', async () => {
  const ok = { 'x-client': 'auth-tests' };
  assert.equal((await call('/oci/predict', { ...ok, authorization: `Bearer ${await hsToken({ iss: 'iss-oci', aud: 'aud-oci' })}` })).status, 200);
  denied(await call('/oci/predict', { 'x-client': 'a1' }), 401, 'oci: none');
  denied(await call('/oci/predict', { 'x-client': 'a2', authorization: `Bearer ${await hsToken({ iss: 'iss-oci', aud: 'aud-oci', exp: now() - 10 })}` }), 401, 'oci: expired');
  denied(await call('/oci/predict', { 'x-client': 'a3', authorization: `Bearer ${await hsToken({ iss: 'iss-oci', aud: 'other' })}` }), 403, 'oci: audience');
  denied(await call('/oci/predict', { 'x-client': 'a4', authorization: `Bearer ${await hsToken({ iss: 'iss-oci', aud: 'aud-oci' }, 'another-secret-of-at-least-32-characters!!')}` }), 401, 'oci: wrong secret');
  denied(await call('/oci/predict', { 'x-client': 'a5', 'x-api-key': secrets.API_KEY_A }), 401, 'oci: a key where only tokens count');

  for (const path of ['/predict', '/raw']) {
    denied(await call(path, {}), 401, `${path}: none`);
    denied(await call(path, { authorization: `Bearer ${wrongKey}` }), 401, `${path}: wrong key`);
    denied(await call(path, { authorization: secrets.API_KEY_B }), 401, `${path}: key without Bearer`);
    assert.equal((await call(path, { authorization: `Bearer ${secrets.API_KEY_B}` })).status, 200, `${path}: good key`);
  }
});

test('the gateway\'s credential is dropped before a raw route streams upstream; other headers go on', async () => {
  const before = echo.requests.length;
  assert.equal((await call('/raw', { authorization: `Bearer ${secrets.API_KEY_B}`, 'x-trace-me': 'raw-cred-check' })).status, 200);
  const seen = echo.requests.slice(before).find((r) => r.headers['x-trace-me'] === 'raw-cred-check');
  assert.ok(seen !== undefined, 'the raw request reached the backend');
  assert.equal(seen.headers.authorization, undefined, 'the API key went upstream');
  for (const r of echo.requests) assert.equal(JSON.stringify(r.headers).includes(secrets.API_KEY_B!), false, 'a key reached a backend');
});

test('health, liveness and metadata GETs stay open; the admin port has its own token', async () => {
  for (const path of ['/v2/health/live', '/v2/health/ready', '/v2', '/v1/models', '/v2/models/web', '/oci/health', '/health']) {
    const r = await call(path, {}, 'GET');
    assert.equal(r.status, 200, `${path}: ${r.status} ${JSON.stringify(r.json)}`);
  }
  denied(await call('/admin/status', {}, 'GET', gw.adminUrl), 401, 'admin: none');
  denied(await call('/admin/status', { authorization: `Bearer ${secrets.API_KEY_A}` }, 'GET', gw.adminUrl), 401, 'admin: a client key');
  denied(await call('/admin/status', { authorization: `Bearer ${secrets.ADMIN_TOKEN}x` }, 'GET', gw.adminUrl), 401, 'admin: token with a suffix');
  denied(await call('/admin/reload', {}, 'POST', gw.adminUrl), 401, 'admin reload: none');
  assert.equal((await call('/admin/status', { authorization: `Bearer ${secrets.ADMIN_TOKEN}` }, 'GET', gw.adminUrl)).status, 200);
  // The admin surface is not on the platform port at all.
  assert.equal((await call('/admin/status', { authorization: `Bearer ${secrets.ADMIN_TOKEN}` }, 'GET')).status, 404);
});

test('rate limits: a client over its rate gets 429 + Retry-After; other clients are unaffected', async () => {
  const p = '/v1/models/web:predict';
  // Key C spends its burst of 3, then is limited; key D, with the same first characters, is another client.
  const c = [];
  for (let i = 0; i < 4; i++) c.push(await call(p, { 'x-api-key': secrets.API_KEY_C }));
  assert.deepEqual(c.map((r) => r.status), [200, 200, 200, 429]);
  assert.equal(c[3]!.json.code, 'rate_limited');
  assert.ok(Number(c[3]!.headers.get('retry-after')) >= 1, `Retry-After ${c[3]!.headers.get('retry-after')}`);
  assert.equal((await call(p, { 'x-api-key': secrets.API_KEY_D })).status, 200, 'a key with the same prefix is another client');
  assert.equal((await call(p, { authorization: `Bearer ${await rsToken({ iss: 'https://issuer.test', aud: 'infergate', sub: 'rate-other' })}` })).status, 200, 'a token client');
  assert.equal((await call(p, { 'x-api-key': secrets.API_KEY_C })).status, 429, 'still limited');

  // By header (oci): x-client alice spends 2, bob is unaffected.
  const token = await hsToken({ iss: 'iss-oci', aud: 'aud-oci' });
  const alice = [];
  for (let i = 0; i < 3; i++) alice.push(await call('/oci/predict', { 'x-client': 'alice', authorization: `Bearer ${token}` }));
  assert.deepEqual(alice.map((r) => r.status), [200, 200, 429]);
  assert.match(alice[2]!.headers.get('retry-after') ?? '', /^[1-9]\d*$/);
  assert.equal((await call('/oci/predict', { 'x-client': 'bob', authorization: `Bearer ${token}` })).status, 200);
});

test('no key, token or secret appears in the logs at debug level; bodies are not logged', async () => {
  // One more request each way, so the last lines are there too.
  await call('/v1/models/web:predict', { 'x-api-key': secrets.API_KEY_B, 'x-request-id': 'log-check-1' });
  await call('/raw', { authorization: `Bearer ${secrets.API_KEY_B}`, 'proxy-authorization': `Basic ${secrets.API_KEY_A}`, cookie: `s=${secrets.API_KEY_A}` });
  await new Promise((r) => setTimeout(r, 300)); // pino writes asynchronously
  const logs = gw.logs();
  assert.match(logs, /log-check-1/, 'debug lines are there to check');
  for (const [name, value] of Object.entries(secrets)) assert.equal(logs.includes(value), false, `${name} appears in the logs`);
  assert.equal(logs.includes(wrongKey), false, 'a wrong key appears in the logs');
  for (const t of used) {
    assert.equal(logs.includes(t), false, 'a token appears in the logs');
    assert.equal(logs.includes(t.split('.')[2]!), false, 'a token signature appears in the logs');
  }
  assert.equal(logs.includes('[[1,2]]'), false, 'a request body appears in the logs');
});
