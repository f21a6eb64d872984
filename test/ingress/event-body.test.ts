import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_JSON_DEPTH, jsonDepthExceeds, parseEvent } from '../../src/ingress/event-body.ts';

const parse = (s: string | Buffer) => parseEvent(typeof s === 'string' ? Buffer.from(s) : s);

describe('parseEvent', () => {
  it('accepts every Iterable sample payload', () => {
    const lines = readFileSync(new URL('../fixtures/iterable-samples.jsonl', import.meta.url), 'utf8')
      .trim()
      .split('\n');
    assert.equal(lines.length, 6);
    for (const line of lines) {
      const out = parse(line);
      assert.ok('body' in out, line);
      assert.equal(out.eventName, JSON.parse(line).eventName);
    }
  });
  const table: [string, string | Buffer, string][] = [
    ['invalid JSON', '{"eventName":', 'invalid_json'],
    ['empty body', '', 'invalid_json'],
    ['an array', '[{"eventName":"x"}]', 'not_an_object'],
    ['a string', '"emailSend"', 'not_an_object'],
    ['null', 'null', 'not_an_object'],
    ['no eventName', '{"email":"a@b.c"}', 'missing_event_name'],
    ['numeric eventName', '{"eventName":5}', 'missing_event_name'],
    ['empty eventName', '{"eventName":""}', 'missing_event_name'],
    [
      'invalid UTF-8',
      Buffer.concat([Buffer.from('{"eventName":"a'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
      'invalid_utf8',
    ],
    ['deep nesting', '{"eventName":"x","a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}', 'json_too_deep'],
  ];
  for (const [name, input, code] of table) {
    it(`answers ${code} for ${name}`, () => assert.deepEqual(parse(input), { error: code }));
  }
  it('keeps __proto__ as an own key without polluting prototypes', () => {
    const out = parse('{"eventName":"x","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}');
    assert.ok('body' in out);
    assert.equal(Object.getPrototypeOf(out.body), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out.body, '__proto__')?.value, { polluted: true });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('jsonDepthExceeds', () => {
  it('counts brackets outside strings only', () => {
    assert.equal(jsonDepthExceeds(Buffer.from('[[["[[[[\\"[["]]]'), 3), false);
    assert.equal(jsonDepthExceeds(Buffer.from('[[[[]]]]'), 3), true);
    const atLimit = '{"a":'.repeat(MAX_JSON_DEPTH - 1) + '{}' + '}'.repeat(MAX_JSON_DEPTH - 1);
    assert.equal(jsonDepthExceeds(Buffer.from(atLimit), MAX_JSON_DEPTH), false);
    assert.equal(jsonDepthExceeds(Buffer.from('[' + atLimit + ']'), MAX_JSON_DEPTH), true);
  });
});
