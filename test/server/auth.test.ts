import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose';
import { GatewayError } from '../../src/errors.ts';
import { createAuthenticator } from '../../src/server/auth.ts';

const key = 'k'.repeat(24);
const secret = 's'.repeat(40);

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof GatewayError && err.code === code && (message === undefined || message.test(err.message)));
}

test('API keys: right key passes, wrong, missing and prefix-only keys get 401', async () => {
  const auth = createAuthenticator({ apiKeys: { header: 'x-api-key', keys: [key] } });
  assert.match(await auth({ 'x-api-key': key }), /^key:/);
  await rejects(auth({ 'x-api-key': `${key}x` }), 'unauthorized');
  await rejects(auth({ 'x-api-key': key.slice(0, 10) }), 'unauthorized');
  await rejects(auth({}), 'unauthorized', /needs an API key in "x-api-key"/);
});

test('API keys in the Authorization header as Bearer', async () => {
  const auth = createAuthenticator({ apiKeys: { header: 'authorization', keys: [key] } });
  assert.match(await auth({ authorization: `Bearer ${key}` }), /^key:/);
  await rejects(auth({ authorization: key }), 'unauthorized');
});

test('HS256 JWT: valid passes; wrong issuer/audience → 403; expired or forged → 401', async () => {
  const auth = createAuthenticator({ jwt: { secret, issuer: 'me', audience: 'gw', clockToleranceSeconds: 0 } });
  const sign = (claims: { iss?: string; aud?: string; exp?: number }, s = secret): Promise<string> => {
    let j = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice');
    if (claims.iss) j = j.setIssuer(claims.iss);
    if (claims.aud) j = j.setAudience(claims.aud);
    j = j.setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60);
    return j.sign(new TextEncoder().encode(s));
  };
  assert.equal(await auth({ authorization: `Bearer ${await sign({ iss: 'me', aud: 'gw' })}` }), 'sub:alice');
  await rejects(auth({ authorization: `Bearer ${await sign({ iss: 'other', aud: 'gw' })}` }), 'forbidden');
  await rejects(auth({ authorization: `Bearer ${await sign({ iss: 'me', aud: 'else' })}` }), 'forbidden');
  await rejects(auth({ authorization: `Bearer ${await sign({ iss: 'me', aud: 'gw', exp: 1000 })}` }), 'unauthorized', /expired/);
  await rejects(auth({ authorization: `Bearer ${await sign({ iss: 'me', aud: 'gw' }, 'x'.repeat(40))}` }), 'unauthorized');
  await rejects(auth({ authorization: 'Bearer not.a.jwt' }), 'unauthorized');
});

test('RS256 JWT through a static public key and through a JWKS URL', async (t) => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setSubject('bob')
    .setExpirationTime('1m').sign(privateKey);
  const pem = createAuthenticator({ jwt: { publicKey: await exportSPKI(publicKey), clockToleranceSeconds: 30 } });
  assert.equal(await pem({ authorization: `Bearer ${token}` }), 'sub:bob');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
  const server = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const jwks = createAuthenticator({ jwt: { jwksUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, clockToleranceSeconds: 30 } });
  assert.equal(await jwks({ authorization: `Bearer ${token}` }), 'sub:bob');
  const other = await generateKeyPair('RS256');
  const forged = await new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('1m').sign(other.privateKey);
  await rejects(jwks({ authorization: `Bearer ${forged}` }), 'unauthorized');
});

test('either scheme admits: a key or a token', async () => {
  const auth = createAuthenticator({ apiKeys: { header: 'x-api-key', keys: [key] }, jwt: { secret, clockToleranceSeconds: 0 } });
  const token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('c').setExpirationTime('1m').sign(new TextEncoder().encode(secret));
  assert.match(await auth({ 'x-api-key': key }), /^key:/);
  assert.equal(await auth({ authorization: `Bearer ${token}` }), 'sub:c');
  await rejects(auth({}), 'unauthorized', /API key in "x-api-key" or a bearer token/);
});
