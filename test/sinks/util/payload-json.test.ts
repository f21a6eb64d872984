import { test } from 'node:test';
import assert from 'node:assert/strict';
import { payloadJson } from '../../../src/sinks/util/payload-json.ts';

test('serialises like JSON.stringify, undefined as null, strings as JSON strings', () => {
  assert.equal(payloadJson({ a: [1, 'x'], b: null }), '{"a":[1,"x"],"b":null}');
  assert.equal(payloadJson(undefined), 'null');
  assert.equal(payloadJson('text'), '"text"');
  assert.equal(payloadJson(7), '7');
});

test('one object is serialised once, however many sinks ask', () => {
  let calls = 0;
  const payload = { toJSON: () => (calls++, { n: 1 }) };
  assert.equal(payloadJson(payload), '{"n":1}');
  assert.equal(payloadJson(payload), '{"n":1}');
  assert.equal(calls, 1);
  assert.equal(payloadJson({ toJSON: () => (calls++, 2) }), '2', 'another object is serialised on its own');
  assert.equal(calls, 2);
});

test('a payload that cannot be serialised throws every time', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.throws(() => payloadJson(cyclic), /circular/i);
  assert.throws(() => payloadJson(cyclic), /circular/i);
});
