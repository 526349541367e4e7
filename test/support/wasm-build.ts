// wasm-build.ts — checks that a committed .wasm under src/ is the build of its hand-written .wat
// (what `npm run build:wasm` writes), so neither changes without the other.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import wabt from 'wabt';

/** assertBuiltFrom fails when src/<path>.wasm is not wabt's build of src/<path>.wat. */
export async function assertBuiltFrom(path: string): Promise<void> {
  const source = new URL(`../../src/${path}.wat`, import.meta.url);
  const built = new URL(`../../src/${path}.wasm`, import.meta.url);
  const tools = await wabt();
  const module = tools.parseWat(`${path}.wat`, readFileSync(source, 'utf8'));
  try {
    module.validate();
    const bytes = Buffer.from(module.toBinary({}).buffer);
    assert.ok(bytes.equals(readFileSync(built)), `src/${path}.wasm is stale: run npm run build:wasm`);
  } finally {
    module.destroy();
  }
}
