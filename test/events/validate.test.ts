// validateEvent: real and generated payloads pass; wrong types, bad dates and missing identity are issues naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateEvent, MAX_ISSUES } from '../../src/events/validate.ts';
import { KNOWN_EVENT_NAMES, SPEC_EVENT_NAMES } from '../../src/events/catalog.ts';
import { sampleEvent, invalidSampleEvent, invalidFieldPath } from '../../src/events/samples.ts';

const fixtures = readFileSync(new URL('../fixtures/iterable-samples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as Record<string, unknown>);

const paths = (body: Record<string, unknown>) => validateEvent(body).map((issue) => issue.path);

test('every sample payload from iterable-deliveries.md is valid', () => {
  assert.ok(fixtures.length >= 6);
  for (const body of fixtures) assert.deepEqual(validateEvent(body), [], String(body.eventName));
});

test('sampleEvent is valid for every catalog eventName and an unknown one', () => {
  for (const name of [...KNOWN_EVENT_NAMES, 'somethingIterableAddedLater']) {
    for (let seq = 0; seq < 8; seq++) assert.deepEqual(validateEvent(sampleEvent(name, seq)), [], `${name} #${seq}`);
  }
});

test('invalidSampleEvent gives one issue naming the broken field, for each of the 20 spec types', () => {
  for (const name of SPEC_EVENT_NAMES) {
    const issues = validateEvent(invalidSampleEvent(name, 1));
    assert.equal(issues.length, 1, `${name}: ${JSON.stringify(issues)}`);
    assert.equal(issues[0]!.path, invalidFieldPath(name));
    assert.match(issues[0]!.path, /^\/dataFields\/\w+$/);
    assert.match(issues[0]!.message, /^must /);
  }
});

test('a known field is type-checked at the top level and inside dataFields', () => {
  assert.deepEqual(paths({ eventName: 'emailSend', email: 'u@x.com', campaignId: '59667' }), ['/campaignId']);
  assert.deepEqual(paths({ eventName: 'emailSend', email: 'u@x.com', dataFields: { campaignId: '59667' } }), [
    '/dataFields/campaignId',
  ]);
  assert.deepEqual(
    paths({ eventName: 'emailSend', email: 'u@x.com', campaignId: 59667, dataFields: { campaignId: 59667 } }),
    [],
  );
  assert.deepEqual(paths({ eventName: 'emailSend', email: 'u@x.com', dataFields: { campaignId: 1.5 } }), [
    '/dataFields/campaignId',
  ]);
  assert.deepEqual(paths({ eventName: 'emailOpen', email: 'u@x.com', dataFields: { isBot: 'no' } }), [
    '/dataFields/isBot',
  ]);
  assert.deepEqual(
    paths({ eventName: 'purchase', email: 'u@x.com', dataFields: { items: [{ id: 'a', quantity: 'two' }] } }),
    ['/dataFields/items/0/quantity'],
  );
});

test('nulls are accepted for optional fields; sound and badge may be empty strings', () => {
  const nulls = {
    campaignId: null,
    workflowId: null,
    workflowName: null,
    experimentId: null,
    locale: null,
    deeplink: null,
    badge: null,
    sound: null,
    createdAt: null,
  };
  assert.deepEqual(validateEvent({ eventName: 'pushOpen', email: 'u@x.com', ...nulls, dataFields: nulls }), []);
  assert.deepEqual(
    validateEvent({ eventName: 'pushSend', email: 'u@x.com', dataFields: { sound: '', badge: '' } }),
    [],
  );
  assert.deepEqual(validateEvent({ eventName: 'pushSend', email: 'u@x.com', dataFields: { badge: 3 } }), []);
  assert.deepEqual(paths({ eventName: 'pushSend', email: 'u@x.com', dataFields: { badge: 'three' } }), [
    '/dataFields/badge',
  ]);
});

test('extra fields are allowed', () => {
  assert.deepEqual(
    validateEvent({
      eventName: 'emailSend',
      email: 'u@x.com',
      brandNew: { a: [1] },
      dataFields: { transactionalData: { x: 1 }, other: 'y' },
    }),
    [],
  );
});

test('dates: Iterable format and ISO 8601 are valid, anything else is an issue', () => {
  const good = [
    '2016-12-02 20:21:04 +00:00',
    '2016-12-02T20:21:04Z',
    '2016-12-02T20:21:04.123+01:00',
    '2016-12-02T20:21:04.123456-0800',
    '2016-12-02 20:21:04',
  ];
  for (const createdAt of good) {
    assert.deepEqual(
      validateEvent({
        eventName: 'emailSend',
        email: 'u@x.com',
        dataFields: { createdAt, expiresAt: createdAt, profileUpdatedAt: createdAt },
      }),
      [],
      createdAt,
    );
  }
  const bad = [
    'yesterday',
    '2016-13-02 20:21:04 +00:00',
    '2016-12-02',
    '2016-12-32T20:21:04Z',
    '2016-12-02T25:21:04Z',
    '',
  ];
  for (const createdAt of bad) {
    const issues = validateEvent({ eventName: 'emailSend', email: 'u@x.com', dataFields: { createdAt } });
    assert.deepEqual(
      issues.map((i) => i.path),
      ['/dataFields/createdAt'],
      createdAt,
    );
    assert.match(issues[0]!.message, /2016-12-02 20:21:04 \+00:00/);
  }
  assert.deepEqual(paths({ eventName: 'inAppSend', email: 'u@x.com', dataFields: { expiresAt: 'soon' } }), [
    '/dataFields/expiresAt',
  ]);
  assert.deepEqual(paths({ eventName: 'emailOpen', email: 'u@x.com', createdAt: 1480709664000 }), ['/createdAt']);
});

test('an unknown eventName uses the generic schema: valid with any dataFields, email checked if present', () => {
  assert.deepEqual(
    validateEvent({ eventName: 'brandNewEvent', email: 'u@x.com', dataFields: { campaignId: 'anything' } }),
    [],
  );
  assert.deepEqual(validateEvent({ eventName: 'whatsAppSeen', dataFields: {} }), []);
  assert.deepEqual(validateEvent({ eventName: '__proto__', email: 'u@x.com' }), []);
  assert.deepEqual(paths({ eventName: 'brandNewEvent', email: 42 }), ['/email']);
  assert.deepEqual(paths({ eventName: 'brandNewEvent', dataFields: 'text' }), ['/dataFields']);
});

test('email may be missing when userId is there (string or number); one of them is required for spec types', () => {
  assert.deepEqual(validateEvent({ eventName: 'emailSend', userId: 'user-1', dataFields: { campaignId: 1 } }), []);
  assert.deepEqual(validateEvent({ eventName: 'emailSend', userId: 17 }), []);
  assert.deepEqual(validateEvent({ eventName: 'emailSend', email: null, userId: 'user-1' }), []);
  const missing = validateEvent({ eventName: 'emailSend', dataFields: { campaignId: 1 } });
  assert.deepEqual(missing, [{ path: '/email', message: 'must have a string `email` or a `userId`' }]);
  assert.deepEqual(paths({ eventName: 'emailSend', email: null, userId: null }), ['/email']);
  assert.deepEqual(paths({ eventName: 'emailSend', email: 5 }), ['/email']);
});

test('the number of issues is bounded', () => {
  const wrong = Object.fromEntries(
    ['campaignId', 'templateId', 'workflowId', 'channelId', 'messageTypeId', 'experimentId', 'contentId'].map((k) => [
      k,
      'x',
    ]),
  );
  const body = {
    eventName: 'emailSend',
    email: 'u@x.com',
    ...wrong,
    createdAt: 1,
    messageId: 1,
    emailSubject: 1,
    campaignName: 1,
    templateName: 1,
    workflowName: 1,
    labels: 1,
    emailId: 1,
    linkId: 1,
    dataFields: { ...wrong, createdAt: 1, messageId: 1 },
  };
  const issues = validateEvent(body);
  assert.equal(issues.length, MAX_ISSUES);
  assert.equal(new Set(issues.map((i) => i.path)).size, MAX_ISSUES);
});

test('a valid event returns the same shared empty array (no allocation on the hot path)', () => {
  const first = validateEvent(sampleEvent('emailSend', 0));
  assert.equal(validateEvent(sampleEvent('emailClick', 1)), first);
  assert.ok(Object.isFrozen(first));
});
