// Locations as config gives them: each scheme read into its parts, and anything else refused
// with a config error that says what is accepted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GatewayError } from '../../src/errors.ts';
import { archiveKind, isRemote, parseLocation } from '../../src/storage/uri.ts';

test('each scheme is read into bucket, namespace and path', () => {
  assert.deepEqual(parseLocation('gs://bucket/a/b'), { scheme: 'gs', uri: 'gs://bucket/a/b', bucket: 'bucket', path: 'a/b' });
  assert.deepEqual(parseLocation('gs://bucket'), { scheme: 'gs', uri: 'gs://bucket', bucket: 'bucket', path: '' });
  assert.deepEqual(parseLocation('s3://sm/jobs/model.tar.gz'), { scheme: 's3', uri: 's3://sm/jobs/model.tar.gz', bucket: 'sm', path: 'jobs/model.tar.gz' });
  assert.deepEqual(parseLocation('oci://art@tenancy/iris/a.zip'), { scheme: 'oci', uri: 'oci://art@tenancy/iris/a.zip', bucket: 'art', namespace: 'tenancy', path: 'iris/a.zip' });
  const https = parseLocation('https://example.com/m.onnx#sha256=ab');
  assert.equal(https.scheme, 'https');
  assert.deepEqual(parseLocation('/models/iris'), { scheme: 'file', uri: '/models/iris', path: '/models/iris' });
  assert.deepEqual(parseLocation('backends/onnx'), { scheme: 'file', uri: 'backends/onnx', path: 'backends/onnx' });
});

test('an unknown scheme or a malformed URI is a bad_config naming it and what is accepted', () => {
  const refused = (text: string, pattern: RegExp): void => {
    assert.throws(() => parseLocation(text), (err: unknown) => err instanceof GatewayError && err.code === 'bad_config' && pattern.test(err.message));
  };
  refused('azure://container/model', /"azure:\/\/container\/model" is not a model location: the scheme azure:\/\/ is not supported; use gs:\/\/, s3:\/\/, oci:\/\/, https:\/\/ or a local path/);
  refused('gs://', /expected gs:\/\/bucket\/path/);
  refused('oci://bucket/no-namespace', /expected oci:\/\/bucket@namespace\/path/);
  refused('', /it is empty/);
});

test('remote locations and archives are told apart by name', () => {
  assert.equal(isRemote('gs://b/x'), true);
  assert.equal(isRemote('HTTPS://x/y'), true);
  assert.equal(isRemote('/opt/ml/model'), false);
  assert.equal(isRemote('models/gs://odd'), false);
  assert.equal(archiveKind('model.tar.gz'), 'tar.gz');
  assert.equal(archiveKind('MODEL.TGZ'), 'tar.gz');
  assert.equal(archiveKind('artifact.zip'), 'zip');
  assert.equal(archiveKind('model.onnx'), undefined);
  assert.equal(archiveKind('model.tar'), undefined);
});

test('a bad location in modelRepository or spawn.modelRepository is refused when the config is read', async () => {
  const { parseConfig } = await import('../../src/schema.ts');
  const { ConfigError } = await import('../../src/config/load.ts');
  for (const backend of ['{ type: onnx, modelRepository: "azure://c/m" }', '{ type: http, url: "http://127.0.0.1:1", spawn: { command: [x], modelRepository: "oci://no-namespace/m" } }']) {
    assert.throws(() => parseConfig(`backends: { b: ${backend} }\nmodels: { m: { targets: [ { backend: b } ] } }\n`, 'c.yaml', {}),
      (err: unknown) => err instanceof ConfigError && /is not a model location/.test(err.message));
  }
});
