// The catalog: 20 spec names, every delivery name from iterable-deliveries.md, and bounded metric labels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  KNOWN_EVENT_NAMES,
  SPEC_EVENT_NAMES,
  eventLabel,
  hasSpecSchema,
  isKnownEvent,
} from '../../src/events/catalog.ts';

test('the catalog holds 20 spec names and no duplicates', () => {
  assert.equal(SPEC_EVENT_NAMES.length, 20);
  assert.equal(new Set(KNOWN_EVENT_NAMES).size, KNOWN_EVENT_NAMES.length);
  for (const name of SPEC_EVENT_NAMES) assert.ok(hasSpecSchema(name) && isKnownEvent(name), name);
  assert.equal(hasSpecSchema('emailSendSkip'), false);
});

// Copied from docs/iterable-deliveries.md, "eventName values seen in real deliveries" (the docs live outside the repo).
const DELIVERED = `emailSend, emailOpen, emailClick, emailBounce, emailComplaint, emailSendSkip, emailSubscribe,
emailUnSubscribe, hostedUnsubscribeClick, inAppSend, inAppOpen, inAppClick,
inAppSendSkip, inAppDelete, inAppRecall, inAppClose, inAppDelivery, pushSend, pushOpen, pushBounce,
pushSendSkip, pushUninstall, smsSend, smsBounce, smsClick, smsReceived, smsSendSkip, webPushSend,
webPushSendSkip, webPushClick, embeddedClick, embeddedImpression, embeddedReceived, embeddedSession,
journeyExit, whatsAppSend, whatsAppSendSkip, whatsAppBounce, whatsAppClick, whatsAppReceived,
whatsAppSeen, purchase, customEvent, listSubscribe, listUnsubscribe`.split(/,\s*/);

test('every eventName listed in iterable-deliveries.md is known, and nothing else', () => {
  assert.equal(DELIVERED.length, 45);
  for (const name of DELIVERED) assert.ok(isKnownEvent(name), name);
  // The spec's 20 are all among them, so the catalog is exactly this list.
  assert.deepEqual([...KNOWN_EVENT_NAMES].sort(), [...DELIVERED].sort());
});

test('eventLabel keeps known names and folds everything else into other', () => {
  assert.equal(eventLabel('emailUnSubscribe'), 'emailUnSubscribe');
  assert.equal(eventLabel('whatsAppSeen'), 'whatsAppSeen');
  assert.equal(eventLabel('emailUnsubscribe'), 'other');
  assert.equal(eventLabel('__proto__'), 'other');
  assert.equal(eventLabel('x'.repeat(10_000)), 'other');
});
