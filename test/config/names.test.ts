import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isName, namePattern } from '../../src/config/names.ts';

describe('isName', () => {
  it('accepts letters, digits, "_", "." and "-" after a letter or digit', () => {
    for (const ok of ['a', 'Z', '7', 'iris', 'resnet-50', 'my_model.v2', 'A.b-c_d', '0.9', 'a..b', 'x-', 'x.']) {
      assert.equal(isName(ok), true, ok);
    }
  });

  it('accepts 128 characters and refuses 129', () => {
    assert.equal(isName('a'.repeat(128)), true);
    assert.equal(isName(`m${'-'.repeat(127)}`), true);
    assert.equal(isName('a'.repeat(129)), false);
  });

  it('refuses empty, dot names, escapes, separators and a leading "-", "." or "_"', () => {
    for (const bad of ['', '.', '..', '...', '%2e', '%2e%2e', 'a%2Fb', 'a/b', '/a', 'a\\b', '-a', '.a', '.hidden', '_a',
      'a b', ' a', 'a\n', 'a\0', 'a:b', 'a?b', 'a#b', 'é', 'ｍodel', 'a\u200bb']) {
      assert.equal(isName(bad), false, JSON.stringify(bad));
    }
  });
});

describe('namePattern', () => {
  it('is a regex source without anchors that routes and headers can embed', () => {
    const route = new RegExp(`^/v2/models/(${namePattern})/infer$`);
    assert.equal(route.exec('/v2/models/iris-1.0/infer')?.[1], 'iris-1.0');
    assert.equal(route.exec('/v2/models/../infer'), null);
    assert.equal(route.exec('/v2/models/a%2Fb/infer'), null);
    assert.equal(route.exec(`/v2/models/${'a'.repeat(129)}/infer`), null);
  });

  it('agrees with isName on every case but "." and ".." (which its leading class already refuses)', () => {
    const whole = new RegExp(`^${namePattern}$`);
    for (const s of ['a', 'a.b', '-a', '', 'a'.repeat(128), 'a'.repeat(129), '.', '..', 'a/b']) {
      assert.equal(whole.test(s), isName(s), s);
    }
  });
});
