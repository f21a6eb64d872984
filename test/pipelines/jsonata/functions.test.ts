import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalHash, canonicalJson, dedupeKey, iterableDate } from '../../../src/pipelines/jsonata/functions.ts';

test('iterableDate turns Iterable and ISO dates into ISO 8601 UTC', () => {
  assert.equal(iterableDate('2016-12-02 20:21:04 +00:00'), '2016-12-02T20:21:04.000Z');
  assert.equal(iterableDate('2016-12-02 22:21:04 +02:00'), '2016-12-02T20:21:04.000Z');
  assert.equal(iterableDate('2016-12-02T20:21:04Z'), '2016-12-02T20:21:04.000Z');
  assert.equal(iterableDate('2016-12-02T20:21:04.123456-0100'), '2016-12-02T21:21:04.123Z');
  assert.equal(iterableDate(1480710064000), '2016-12-02T20:21:04.000Z');
});

test('iterableDate gives undefined for anything that is not a date', () => {
  for (const bad of [
    '',
    'yesterday',
    '2016-02-31 10:00:00 +00:00',
    '2016-13-01 00:00:00 +00:00',
    null,
    {},
    'x'.repeat(100),
    Infinity,
  ]) {
    assert.equal(iterableDate(bad), undefined, String(bad));
  }
});

test('canonicalHash ignores key order and differs for different values', () => {
  assert.equal(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null }), '{"a":null,"b":[1,{"c":2,"d":1}]}');
  assert.equal(canonicalHash({ b: 1, a: 2 }), canonicalHash({ a: 2, b: 1 }));
  assert.notEqual(canonicalHash({ a: 1 }), canonicalHash({ a: '1' }));
  assert.match(canonicalHash('x'), /^[0-9a-f]{64}$/);
});

test('dedupeKey reads fields at the top level or in dataFields and normalises createdAt', () => {
  const nested = {
    eventName: 'emailClick',
    email: 'u@x.com',
    dataFields: { messageId: 'm1', createdAt: '2016-12-02 20:31:39 +00:00', linkId: 'l1' },
  };
  const flat = { eventName: 'emailClick', messageId: 'm1', createdAt: '2016-12-02T20:31:39Z', linkId: 'l1' };
  assert.equal(dedupeKey(nested), dedupeKey(flat));
  assert.notEqual(dedupeKey(nested), dedupeKey({ ...flat, linkId: 'l2' }));
  assert.notEqual(
    dedupeKey({ eventName: 'smsReceived', email: 'a@x.com' }),
    dedupeKey({ eventName: 'smsReceived', email: 'b@x.com' }),
  );
  assert.equal(dedupeKey('nope'), undefined);
});
