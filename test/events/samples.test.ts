// sampleEvent: deterministic, shaped as real deliveries (fields in dataFields, Iterable dates, realistic ids).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KNOWN_EVENT_NAMES } from '../../src/events/catalog.ts';
import { sampleEvent, invalidSampleEvent, invalidFieldPath, iterableDate } from '../../src/events/samples.ts';

type Fields = Record<string, unknown>;

test('same (eventName, seq), same payload; another seq, another payload', () => {
  for (const name of KNOWN_EVENT_NAMES) {
    assert.deepEqual(sampleEvent(name, 7), sampleEvent(name, 7), name);
    assert.notDeepEqual(sampleEvent(name, 7), sampleEvent(name, 8), name);
  }
});

test('payloads are shaped as real deliveries: envelope on top, event fields in dataFields', () => {
  for (const name of [...KNOWN_EVENT_NAMES, 'unknownThing']) {
    const body = sampleEvent(name, 2);
    assert.equal(body.eventName, name);
    assert.equal(typeof body.email, 'string');
    const data = body.dataFields as Fields;
    assert.equal(data.email, body.email);
    assert.match(String(data.createdAt), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+00:00$/);
    assert.equal(body.campaignId, undefined);
  }
  assert.equal(sampleEvent('emailSend', 3).userId, 'user-3');
  assert.equal(sampleEvent('emailSend', 2).userId, undefined);
});

test('email ids follow Iterable: messageId 32 hex, emailId c<campaignId>:t<templateId>:<email>', () => {
  for (const name of ['emailSend', 'emailOpen', 'emailClick', 'emailBounce', 'emailComplaint', 'emailUnSubscribe']) {
    const body = sampleEvent(name, 5);
    const data = body.dataFields as Fields;
    assert.match(String(data.messageId), /^[0-9a-f]{32}$/, name);
    assert.equal(data.emailId, `c${data.campaignId}:t${data.templateId}:${body.email}`, name);
    assert.ok(Number.isInteger(data.campaignId) && Number.isInteger(data.templateId), name);
  }
});

test('invalidSampleEvent changes exactly the field invalidFieldPath names', () => {
  const without = (body: Fields, first: string, second?: string): Fields => {
    const copy = structuredClone(body);
    if (second) delete (copy[first] as Fields)[second];
    else delete copy[first];
    return copy;
  };
  for (const name of [...KNOWN_EVENT_NAMES, 'unknownThing']) {
    const good = sampleEvent(name, 4);
    const bad = invalidSampleEvent(name, 4);
    const [, first, second] = invalidFieldPath(name).split('/') as [string, string, string | undefined];
    const at = (body: Fields) => (second ? (body[first] as Fields)[second] : body[first]);
    assert.notEqual(typeof at(bad), typeof at(good), name);
    assert.deepEqual(without(bad, first, second), without(good, first, second), name);
  }
});

test('iterableDate formats like Iterable', () => {
  assert.equal(iterableDate(Date.UTC(2016, 11, 2, 20, 21, 4)), '2016-12-02 20:21:04 +00:00');
});
