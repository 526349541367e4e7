// record-imports.ts (test support) — preloaded into a gateway process (NODE_OPTIONS="--import
// this file") to record every module it loads, ESM and CommonJS alike (module.registerHooks sees
// both); the main thread writes them, one URL a line, to $RECORD_IMPORTS_FILE on exit.

import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const loaded: string[] = [];
registerHooks({
  load(url, context, nextLoad) {
    loaded.push(url);
    return nextLoad(url, context);
  },
});
const file = process.env.RECORD_IMPORTS_FILE;
if (isMainThread && file !== undefined) process.on('exit', () => writeFileSync(file, `${loaded.join('\n')}\n`));
