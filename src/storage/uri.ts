// uri.ts — reads an artifact location: gs://bucket/path, s3://bucket/path,
// oci://bucket@namespace/path, https://host/path (http:// too, for local servers), or a local
// path. Pure: no I/O.

import { z } from 'zod';
import { GatewayError } from '../errors.ts';

/** Location is where an artifact lives. */
export type Location =
  | { scheme: 'gs' | 's3'; uri: string; bucket: string; path: string }
  | { scheme: 'oci'; uri: string; bucket: string; namespace: string; path: string }
  | { scheme: 'https'; uri: string; url: URL }
  | { scheme: 'file'; uri: string; path: string };

/** isRemote says whether a configured path names object storage or a URL rather than a local file. */
export function isRemote(text: string): boolean {
  return /^(gs|s3|oci|https?):\/\//i.test(text);
}

/** parseLocation reads a URI or local path; throws bad_config naming what is wrong. */
export function parseLocation(text: string): Location {
  const bad = (why: string): GatewayError => new GatewayError('bad_config', `${JSON.stringify(text)} is not a model location: ${why}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (text === '') throw bad('it is empty');
    return { scheme: 'file', uri: text, path: text };
  }
  const rest = text.slice(scheme.length + 3);
  if (scheme === 'gs' || scheme === 's3') {
    const m = /^([^/]+)\/?(.*)$/.exec(rest);
    if (m === null) throw bad(`expected ${scheme}://bucket/path`);
    return { scheme, uri: text, bucket: m[1]!, path: m[2]! };
  }
  if (scheme === 'oci') {
    const m = /^([^/@]+)@([^/]+)\/?(.*)$/.exec(rest);
    if (m === null) throw bad('expected oci://bucket@namespace/path');
    return { scheme, uri: text, bucket: m[1]!, namespace: m[2]!, path: m[3]! };
  }
  if (scheme === 'https' || scheme === 'http') {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw bad('the URL does not parse');
    }
    return { scheme: 'https', uri: text, url };
  }
  throw bad(`the scheme ${scheme}:// is not supported; use gs://, s3://, oci://, https:// or a local path`);
}

/** archiveKind says whether a name is an archive unpacked after download. */
export function archiveKind(name: string): 'tar.gz' | 'zip' | undefined {
  const lower = name.toLowerCase();
  if (lower.endsWith('.tar.gz') || lower.endsWith('.tgz')) return 'tar.gz';
  if (lower.endsWith('.zip')) return 'zip';
  return undefined;
}

/** locationSchema is a config string that must be a location parseLocation reads (so `infergate check` reports a bad one). */
export const locationSchema = z.string().min(1).superRefine((text, ctx) => {
  try {
    parseLocation(text);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});
