import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { compilePipelineFile } from '../../src/pipelines/compile-file.ts';
import { hashKey } from '../../src/pipelines/dedupe.ts';
import { BUILT_IN_SINKS, createSinkRegistry } from '../../src/sinks/registry.ts';

const sinkTypes = createSinkRegistry(BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' })));
const compile = (text: string) =>
  compilePipelineFile({
    file: '/p/a.yaml',
    displayFile: 'a.yaml',
    text,
    sinkTypes,
    env: {},
    evalTimeoutMs: 100,
    baseDir: '/',
  });
const doc = (dedupe: unknown) => stringify({ name: 'a', dedupe, sinks: [{ type: 'stdout' }] });

describe('pipeline dedupe setting', () => {
  it('`true`: the default key, a 24h window and a million keys', () => {
    const { pipeline } = compile(doc(true));
    assert.deepEqual(pipeline!.info.dedupe, { key: '$dedupeKey($)', windowMs: 86_400_000, maxKeys: 1_000_000 });
  });

  it('off when absent or false', () => {
    assert.equal(compile(doc(false)).pipeline!.dedupe, undefined);
    assert.equal(compile(stringify({ sinks: [{ type: 'stdout' }] })).pipeline!.dedupe, undefined);
  });

  it('`{key, window, maxKeys}` is compiled; the key sees `$$` as JSONata does', async () => {
    const { pipeline, problems } = compile(doc({ key: '$$.dataFields.messageId', window: '2h', maxKeys: 10 }));
    assert.deepEqual(problems, []);
    assert.deepEqual(pipeline!.info.dedupe, { key: '$$.dataFields.messageId', windowMs: 7_200_000, maxKeys: 10 });
    const a = await pipeline!.dedupe!.keyHash({ dataFields: { messageId: 'm' } });
    assert.deepEqual(a, hashKey('m'));
  });

  it('a bad window, an unknown key and maxKeys 0 are problems at their keys; a non-mapping says what it takes', () => {
    const text = 'name: a\ndedupe:\n  window: soon\n  maxKeys: 0\n  size: 1\nsinks: [{ type: stdout }]\n';
    const got = compile(text).problems.map((p) => `${p.line}: ${p.message}`);
    assert.deepEqual(got.sort(), [
      '3: dedupe.window: must be a duration such as 250ms, 5s, 5m, 2h (or a number of milliseconds)',
      '4: dedupe.maxKeys: must be >= 1',
      '5: dedupe.size: unknown key (known: key, window, maxKeys)',
    ]);
    assert.deepEqual(
      compile(doc('yes')).problems.map((p) => p.message),
      ['dedupe: must be true or false or a mapping of key, window, maxKeys'],
    );
  });

  it('a key expression that does not compile fails validate with its position', () => {
    const text = 'name: a\ndedupe:\n  key: "dataFields.("\nsinks: [{ type: stdout }]\n';
    const { problems } = compile(text);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /^dedupe\.key: JSONata/);
    assert.equal(problems[0]!.line, 3);
  });

  it('hashKey: equal values hash alike whatever their key order; different values differ', () => {
    assert.deepEqual(hashKey({ a: 1, b: [2] }), hashKey({ b: [2], a: 1 }));
    assert.notDeepEqual(hashKey('x'), hashKey('y'));
    assert.throws(() => hashKey(undefined), /produced no value/);
  });
});
