// auth.ts — optional client authentication per frontend: static API keys (constant-time
// compare) and bearer JWTs (jose: JWKS URL or a static key; issuer, audience, expiry).
// Health routes stay open so platform probes, which carry no credentials, keep working.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JWTVerifyGetKey, CryptoKey as JoseKey } from 'jose';
import { z } from 'zod';
import { GatewayError } from '../errors.ts';
import { sameSecret } from './admin.ts';

/** authSchema is a frontend's `auth` block. */
export const authSchema = z.strictObject({
  apiKeys: z.strictObject({
    header: z.string().default('x-api-key').describe('Header carrying the key ("authorization" accepts "Bearer KEY" too).'),
    keys: z.array(z.string().min(16)).default([]).describe('Accepted keys (use ${ENV_VAR} rather than literals); at least 16 characters.'),
    keysFile: z.string().optional().describe('File with one key per line (a mounted secret).'),
  }).optional().describe('Static API keys.'),
  jwt: z.strictObject({
    jwksUrl: z.url().optional().describe('JWKS endpoint to fetch verification keys from.'),
    publicKey: z.string().optional().describe('PEM public key (SPKI) for RS256/ES256 tokens.'),
    secret: z.string().min(32).optional().describe('Shared secret for HS256 tokens (32+ characters).'),
    issuer: z.string().optional().describe('Required `iss`.'),
    audience: z.string().optional().describe('Required `aud`.'),
    clockToleranceSeconds: z.number().min(0).max(300).default(30),
  }).optional().describe('Bearer JWTs in the Authorization header.'),
}).describe('Client authentication for a frontend; either scheme admits a request.');

export type AuthConfig = z.infer<typeof authSchema>;


/** Authenticator checks a request's headers; resolves with the client identity or rejects 401/403. */
export type Authenticator = (headers: Record<string, string | string[] | undefined>) => Promise<string>;

/**
 * credentialHeaders names the request headers that carry a credential for this gateway. They
 * are the gateway's, not the backend's: a raw route drops them before streaming upstream (as
 * Envoy's jwt_authn does unless told to forward).
 */
export function credentialHeaders(config: AuthConfig): string[] {
  const names = new Set<string>();
  if (config.apiKeys !== undefined) names.add((config.apiKeys.header ?? 'x-api-key').toLowerCase());
  if (config.jwt !== undefined) names.add('authorization');
  return [...names];
}

/** createAuthenticator builds the check for one frontend's auth block. */
export function createAuthenticator(config: AuthConfig): Authenticator {
  const keys = [...(config.apiKeys?.keys ?? [])];
  if (config.apiKeys?.keysFile !== undefined) {
    keys.push(...readFileSync(config.apiKeys.keysFile, 'utf8').split('\n').map((k) => k.trim()).filter((k) => k.length > 0));
  }
  const keyHeader = (config.apiKeys?.header ?? 'x-api-key').toLowerCase();
  const jwt = config.jwt;
  let key: Promise<JWTVerifyGetKey | JoseKey | Uint8Array> | undefined;
  if (jwt !== undefined) {
    // jose is loaded only by a config with JWT auth, and then off the start's path.
    if (jwt.jwksUrl !== undefined) key = import('jose').then((j) => j.createRemoteJWKSet(new URL(jwt.jwksUrl!)));
    else if (jwt.publicKey !== undefined) key = import('jose').then((j) => j.importSPKI(jwt.publicKey!, 'RS256').catch(() => j.importSPKI(jwt.publicKey!, 'ES256')));
    else if (jwt.secret !== undefined) key = Promise.resolve(new TextEncoder().encode(jwt.secret));
  }
  return async (headers) => {
    const authz = typeof headers.authorization === 'string' ? headers.authorization : undefined;
    const bearer = authz !== undefined ? /^Bearer\s+(\S+)$/i.exec(authz)?.[1] : undefined;
    if (keys.length > 0) {
      const raw = headers[keyHeader];
      const given = keyHeader === 'authorization' ? bearer : typeof raw === 'string' ? raw : undefined;
      // The identity names the key without revealing it (rate-limit bucket, logs); a prefix
      // would put two keys that start alike in one bucket.
      if (given !== undefined && keys.some((k) => sameSecret(given, k))) return `key:${createHash('sha256').update(given).digest('hex').slice(0, 16)}`;
    }
    if (key !== undefined && bearer !== undefined && bearer.split('.').length === 3) {
      try {
        const k = await key;
        const { payload } = await (await import('jose')).jwtVerify(bearer, k as JoseKey, {
          issuer: jwt!.issuer, audience: jwt!.audience, clockTolerance: jwt!.clockToleranceSeconds,
        });
        return `sub:${payload.sub ?? 'unknown'}`;
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
          throw new GatewayError('forbidden', `the token is not valid for this gateway: ${(err as Error).message}`,
            { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
        }
        throw new GatewayError('unauthorized', code === 'ERR_JWT_EXPIRED' ? 'the token has expired' : 'the token could not be verified',
          { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
      }
    }
    const schemes = [keys.length > 0 ? `an API key in "${keyHeader}"` : '', key !== undefined ? 'a bearer token' : ''].filter(Boolean).join(' or ');
    throw new GatewayError('unauthorized', `this endpoint needs ${schemes}`, { headers: { 'www-authenticate': 'Bearer' } });
  };
}
