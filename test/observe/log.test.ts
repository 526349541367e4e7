import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, redactPaths, silentLogger } from '../../src/observe/log.ts';
import { repeatedKeys } from '../support/json-keys.ts';

function sink(): { stream: Writable; lines: () => Array<Record<string, unknown>>; raw: () => string[] } {
  let text = '';
  const stream = new Writable({ write(chunk, _enc, done) { text += chunk.toString(); done(); } });
  return {
    stream,
    lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
    raw: () => text.split('\n').filter(Boolean),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with severity, level label, message, ISO time and the service', () => {
    const out = sink();
    const log = createLogger('info', out.stream);
    log.info({ model: 'iris' }, 'started');
    const [line] = out.lines();
    assert.equal(line!.severity, 'INFO');
    assert.equal(line!.level, 'info');
    assert.equal(line!.message, 'started');
    assert.equal(line!.msg, undefined);
    assert.equal(line!.service, 'infergate');
    assert.equal(line!.model, 'iris');
    assert.match(String(line!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('maps every pino level to a Cloud Logging severity', () => {
    const out = sink();
    const log = createLogger('trace', out.stream);
    log.trace('t');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    log.fatal('f');
    assert.deepEqual(out.lines().map((l) => [l.level, l.severity]), [
      ['trace', 'DEBUG'], ['debug', 'DEBUG'], ['info', 'INFO'], ['warn', 'WARNING'], ['error', 'ERROR'], ['fatal', 'CRITICAL'],
    ]);
  });

  it('drops lines below its level, and writes nothing when silent', () => {
    const out = sink();
    const log = createLogger('warn', out.stream);
    log.info('no');
    log.debug('no');
    log.warn('yes');
    assert.deepEqual(out.lines().map((l) => l.message), ['yes']);
    const quiet = sink();
    const silent = createLogger('silent', quiet.stream);
    silent.fatal('nothing');
    assert.deepEqual(quiet.lines(), []);
  });

  it('defaults to info', () => {
    const out = sink();
    const log = createLogger(undefined, out.stream);
    assert.equal(log.level, 'info');
    log.debug('hidden');
    log.info('shown');
    assert.deepEqual(out.lines().map((l) => l.message), ['shown']);
  });

  it('redacts authorization headers, API keys, cookies and tokens, keeping the other fields', () => {
    const out = sink();
    const log = createLogger('info', out.stream);
    log.info({
      req: { method: 'POST', headers: { authorization: 'Bearer s3cret-1', 'x-api-key': 's3cret-2', 'proxy-authorization': 'Basic s3cret-3', cookie: 'sid=s3cret-4', 'content-type': 'application/json' } },
      headers: { authorization: 'Bearer s3cret-5', 'x-api-key': 's3cret-6', cookie: 's3cret-7', accept: '*/*' },
      authorization: 'Bearer s3cret-8', apiKey: 's3cret-9', token: 's3cret-10', adminToken: 's3cret-11',
      model: 'iris',
    }, 'request');
    const raw = JSON.stringify(out.lines());
    assert.doesNotMatch(raw, /s3cret/);
    const [line] = out.lines() as Array<Record<string, any>>;
    assert.equal(line!.req.headers.authorization, '[redacted]');
    assert.equal(line!.req.headers['x-api-key'], '[redacted]');
    assert.equal(line!.req.headers['proxy-authorization'], '[redacted]');
    assert.equal(line!.req.headers.cookie, '[redacted]');
    assert.equal(line!.req.headers['content-type'], 'application/json');
    assert.equal(line!.req.method, 'POST');
    assert.equal(line!.headers.authorization, '[redacted]');
    assert.equal(line!.headers['x-api-key'], '[redacted]');
    assert.equal(line!.headers.cookie, '[redacted]');
    assert.equal(line!.headers.accept, '*/*');
    assert.equal(line!.authorization, '[redacted]');
    assert.equal(line!.apiKey, '[redacted]');
    assert.equal(line!.token, '[redacted]');
    assert.equal(line!.adminToken, '[redacted]');
    assert.equal(line!.model, 'iris');
  });

  it('redacts in child loggers too', () => {
    const out = sink();
    const child = createLogger('info', out.stream).child({ requestId: 'r1' });
    child.info({ headers: { authorization: 'Bearer s3cret' } }, 'x');
    const [line] = out.lines() as Array<Record<string, any>>;
    assert.equal(line!.requestId, 'r1');
    assert.equal(line!.headers.authorization, '[redacted]');
  });

  it('lists the redacted paths', () => {
    for (const p of ['req.headers.authorization', 'req.headers["x-api-key"]', 'authorization', 'apiKey', 'token', 'adminToken']) {
      assert.ok(redactPaths.includes(p), p);
    }
  });
});

describe('one key once per line', () => {
  it('drops a field the child logger already carries with the same value', () => {
    const out = sink();
    createLogger('info', out.stream).child({ backend: 'local' }).info({ backend: 'local', model: 'iris' }, 'onnx model iris/1 loaded');
    const [text] = out.raw();
    assert.deepEqual(repeatedKeys(text!), []);
    assert.equal(text!.match(/"backend"/g)!.length, 1);
    const [line] = out.lines();
    assert.equal(line!.backend, 'local');
    assert.equal(line!.model, 'iris');
  });

  it('keeps a field whose value differs from the bound one under "repeated"', () => {
    const out = sink();
    createLogger('info', out.stream).child({ model: 'ensemble' }).warn({ model: 'step-a', level: 3, severity: 'x', time: 1 }, 'step failed');
    const [text] = out.raw();
    assert.deepEqual(repeatedKeys(text!), []);
    const [line] = out.lines();
    assert.equal(line!.model, 'ensemble');
    assert.equal(line!.level, 'warn');
    assert.equal(line!.severity, 'WARNING');
    assert.deepEqual(line!.repeated, { model: 'step-a', level: 3, severity: 'x', time: 1 });
  });

  it('keeps one copy, the child\'s, when a child rebinds a key', () => {
    const out = sink();
    createLogger('info', out.stream).child({ backend: 'a', requestId: 'r1' }).child({ backend: 'b' }).child({ target: 't' }).info('x');
    const [text] = out.raw();
    assert.deepEqual(repeatedKeys(text!), []);
    const [line] = out.lines();
    assert.equal(line!.backend, 'b');
    assert.equal(line!.requestId, 'r1');
    assert.equal(line!.target, 't');
    assert.equal(line!.service, 'infergate');
  });

  it('leaves a message field alone when no message string is given, and redacts still', () => {
    const out = sink();
    const log = createLogger('info', out.stream).child({ requestId: 'r1' });
    log.info({ message: 'from the object' });
    log.info({ requestId: 'r1', token: 's3cret' }, 'twice');
    const [a, b] = out.lines();
    assert.equal(a!.message, 'from the object');
    assert.equal(b!.token, '[redacted]');
    for (const text of out.raw()) assert.deepEqual(repeatedKeys(text), []);
  });
});

describe('repeatedKeys (test support)', () => {
  it('names repeated keys at any depth, and none in a clean text', () => {
    assert.deepEqual(repeatedKeys('{"backend":"local","backend":"local"}'), ['backend']);
    assert.deepEqual(repeatedKeys('{"a":{"b":1,"b":[{"c":1,"c":2}]},"d":"{\\"d\\":1}"}'), ['a.b', 'a.b[0].c']);
    assert.deepEqual(repeatedKeys('{"a":[1,-2.5e3,true,null,"x\\"y"],"b":{}}'), []);
    assert.throws(() => repeatedKeys('{"a":1'));
    assert.throws(() => repeatedKeys('{"a":1} x'));
  });
});

describe('silentLogger', () => {
  it('is silent and usable like any logger', () => {
    assert.equal(silentLogger.level, 'silent');
    assert.equal(silentLogger.isLevelEnabled('fatal'), false);
    silentLogger.child({ a: 1 }).error('nothing');
  });
});
