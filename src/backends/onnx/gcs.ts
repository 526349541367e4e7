// gcs.ts — copies a gs:// prefix (Vertex's AIP_STORAGE_URI) to a local folder at start, with
// the Cloud Storage JSON API (list + alt=media download). STORAGE_EMULATOR_HOST redirects it to
// a local server, with no credentials, as the official clients do. Credentials follow
// Application Default Credentials in the two forms a serving container meets: a key file in
// GOOGLE_APPLICATION_CREDENTIALS (service account or authorized user), else the metadata server.
// We call the API directly rather than add @google-cloud/storage (dozens of packages) for two GETs.
// https://cloud.google.com/storage/docs/json_api/v1/objects/list
// https://cloud.google.com/storage/docs/json_api/v1/objects/get

import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, normalize, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { clip, GatewayError } from '../../errors.ts';

const scope = 'https://www.googleapis.com/auth/devstorage.read_only';

/**
 * downloadPrefix copies every object under a gs://bucket/prefix URI into dir (a new temp folder
 * when absent) and returns the local path that stands for the URI: the folder for a prefix,
 * the file for a single object.
 */
export async function downloadPrefix(uri: string, dir?: string): Promise<string> {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (m === null) throw new GatewayError('bad_request', `${uri} is not a gs://bucket/path URI`);
  const bucket = m[1]!;
  const path = m[2]!;
  const emulator = process.env.STORAGE_EMULATOR_HOST;
  const host = emulator === undefined || emulator === '' ? 'https://storage.googleapis.com'
    : /^https?:\/\//.test(emulator) ? emulator.replace(/\/+$/, '') : `http://${emulator}`;
  const headers: Record<string, string> = emulator ? {} : { authorization: `Bearer ${await accessToken()}` };
  const local = dir ?? await mkdtemp(join(tmpdir(), 'infergate-models-'));
  const names = await listObjects(host, bucket, path, headers, uri);
  const prefix = path === '' || path.endsWith('/') ? path : `${path}/`;
  // An exact object is a single file (modelPath); everything else is a folder under the prefix.
  const single = names.includes(path) && path !== '';
  const wanted = single ? [path] : names.filter((n) => n.startsWith(prefix) && !n.endsWith('/'));
  if (wanted.length === 0) throw new GatewayError('bad_request', `${uri} holds no objects`);
  // The folder with its separator: a sibling sharing the name as prefix (models-evil) is outside.
  const root = normalize(local).replace(/[\\/]+$/, '') + sep;
  for (const name of wanted) {
    const rel = single ? basename(name) : name.slice(prefix.length);
    const target = normalize(join(local, rel));
    if (!target.startsWith(root)) throw new GatewayError('bad_request', `object ${name} in ${uri} escapes the download folder`);
    await mkdir(dirname(target), { recursive: true });
    const res = await fetch(`${host}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}?alt=media`, { headers });
    if (!res.ok || res.body === null) {
      throw new GatewayError('backend_unavailable', `downloading gs://${bucket}/${name} failed with ${res.status}: ${clip(await res.text())}`);
    }
    await pipeline(Readable.fromWeb(res.body as never), createWriteStream(target));
  }
  return single ? join(local, basename(path)) : local;
}

async function listObjects(host: string, bucket: string, path: string, headers: Record<string, string>, uri: string): Promise<string[]> {
  const names: string[] = [];
  let pageToken: string | undefined;
  do {
    const q = new URLSearchParams({ prefix: path, ...(pageToken === undefined ? {} : { pageToken }) });
    const res = await fetch(`${host}/storage/v1/b/${encodeURIComponent(bucket)}/o?${q}`, { headers });
    if (!res.ok) throw new GatewayError('backend_unavailable', `listing ${uri} failed with ${res.status}: ${clip(await res.text())}`);
    const page = await res.json() as { items?: Array<{ name: string }>; nextPageToken?: string };
    for (const item of page.items ?? []) names.push(item.name);
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  return names;
}

// accessToken gets an OAuth token the way Application Default Credentials would.
async function accessToken(): Promise<string> {
  const file = process.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (file !== undefined && file !== '') {
    const key = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    const tokenUri = key.token_uri ?? 'https://oauth2.googleapis.com/token';
    let body: URLSearchParams;
    if (key.type === 'service_account') {
      const now = Math.floor(Date.now() / 1000);
      // jose only here (a service-account key signs its own token request), not at every start.
      const { importPKCS8, SignJWT } = await import('jose');
      const assertion = await new SignJWT({ scope })
        .setProtectedHeader({ alg: 'RS256', ...(key.private_key_id ? { kid: key.private_key_id } : {}) })
        .setIssuer(key.client_email!).setAudience(tokenUri).setIssuedAt(now).setExpirationTime(now + 3600)
        .sign(await importPKCS8(key.private_key!, 'RS256'));
      body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    } else if (key.type === 'authorized_user') {
      body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: key.refresh_token!, client_id: key.client_id!, client_secret: key.client_secret! });
    } else {
      throw new GatewayError('bad_request', `GOOGLE_APPLICATION_CREDENTIALS ${file} has type ${key.type}; supported: service_account, authorized_user`);
    }
    return tokenFrom(await fetch(tokenUri, { method: 'POST', body }), tokenUri);
  }
  const metadata = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';
  try {
    return await tokenFrom(await fetch(metadata, { headers: { 'metadata-flavor': 'Google' }, signal: AbortSignal.timeout(5000) }), 'the metadata server');
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('backend_unavailable',
      'no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or run where the metadata server answers (or set STORAGE_EMULATOR_HOST)', { cause: err });
  }
}

async function tokenFrom(res: Response, where: string): Promise<string> {
  const doc = await res.json().catch(() => ({})) as { access_token?: string; error_description?: string };
  if (!res.ok || doc.access_token === undefined) {
    throw new GatewayError('backend_unavailable', `getting a Google access token from ${where} failed with ${res.status}${doc.error_description ? `: ${doc.error_description}` : ''}`);
  }
  return doc.access_token;
}
