import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EnvError, expandEnv } from '../../src/config/env.ts';

test('plain and defaulted variables expand', () => {
  const env = { A: 'x', EMPTY: '' };
  assert.equal(expandEnv('${A}', env), 'x');
  assert.equal(expandEnv('a-${A}-b', env), 'a-x-b');
  assert.equal(expandEnv('${MISSING:-d}', env), 'd');
  assert.equal(expandEnv('${EMPTY:-d}', env), 'd');
  assert.equal(expandEnv('${EMPTY-d}', env), '', 'without the colon an empty value counts as set');
  assert.equal(expandEnv('$$', env), '$');
  assert.equal(expandEnv('no vars', env), 'no vars');
});

test('nested defaults work and are only expanded when used', () => {
  assert.equal(expandEnv('${AIP_HTTP_PORT:-${SAGEMAKER_BIND_TO_PORT:-8080}}', {}), '8080');
  assert.equal(expandEnv('${AIP_HTTP_PORT:-${SAGEMAKER_BIND_TO_PORT:-8080}}', { SAGEMAKER_BIND_TO_PORT: '9000' }), '9000');
  assert.equal(expandEnv('${AIP_HTTP_PORT:-${SAGEMAKER_BIND_TO_PORT:-8080}}', { AIP_HTTP_PORT: '7000' }), '7000');
  assert.equal(expandEnv('${SET:-${UNSET}}', { SET: 'ok' }), 'ok');
});

test('an unset variable without default is an error naming it', () => {
  assert.throws(() => expandEnv('port ${NOPE}', {}), (err: unknown) => err instanceof EnvError && /NOPE/.test(err.message) && err.offset === 5);
  assert.throws(() => expandEnv('${A:-x', { }), EnvError);
  assert.throws(() => expandEnv('${1A}', {}), EnvError);
});

test('an empty variable without default is an error naming it; nesting is bounded', () => {
  assert.throws(() => expandEnv('${W}', { W: '' }), (err: unknown) => err instanceof EnvError && /W is empty/.test(err.message));
  assert.equal(expandEnv('${W:-5}', { W: '' }), '5');
  const nested = (n: number): string => `${'${U:-'.repeat(n)}x${'}'.repeat(n)}`;
  assert.equal(expandEnv(nested(16), {}), 'x');
  assert.throws(() => expandEnv(nested(17), {}), /nested more than 16 deep/);
  assert.throws(() => expandEnv(nested(20_000), {}), /nested more than 16 deep/);
});
