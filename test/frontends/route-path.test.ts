// route-path.test.ts — the config type of a platform-chosen route: an absolute raw path,
// matched exactly, so nothing in it may read as a query, a fragment or a placeholder.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routePath } from '../../src/frontends/route-path.ts';

test('absolute printable paths are routes, Vertex\'s own default shape included', () => {
  for (const p of ['/', '/predict', '/v1/endpoints/1/deployedModels/2:predict', '/a-b_c.d~e/f@g']) {
    assert.equal(routePath.safeParse(p).success, true, p);
  }
});

test('a relative path, a query, a fragment, a placeholder, a space or non-ASCII is refused, saying what is expected', () => {
  for (const p of ['predict', '/p?x=1', '/p#x', '/p/{x}', '/p x', '/é', '']) {
    const r = routePath.safeParse(p);
    assert.equal(r.success, false, p);
    assert.match(r.error!.issues[0]!.message, /expected an absolute path such as \/predict/);
  }
});
