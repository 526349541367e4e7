// The README's "Where the model comes from" examples are configs the gateway accepts: each
// YAML block's first document, with a model pointing at its backend, passes the schema.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { parseConfig } from '../../src/schema.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

test('every config example of "Where the model comes from" is a valid config', () => {
  const start = readme.indexOf('## Where the model comes from');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 10));
  const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, 4, 'one example per platform: Vertex, SageMaker, OCI, GKE');
  for (const block of blocks) {
    const doc = parse(String(parseAllDocuments(block)[0])) as { backends: Record<string, unknown> };
    const backend = Object.keys(doc.backends)[0]!;
    const text = stringify({ ...doc, models: { m: { targets: [{ backend }] } } });
    const config = parseConfig(text, 'README example', { AIP_STORAGE_URI: 'gs://b/m', MODEL_DATA_URL: 's3://b/m.tar.gz' });
    assert.ok(config.storage.cacheDir !== undefined, block);
  }
});
