// Every Iterable eventName hookroute knows: the 20 message types of the AsyncAPI spec plus the names seen in real deliveries.
// Unknown names are still accepted (generic schema); `eventLabel` keeps them from turning into unbounded metric labels.

/** The 20 message types of `spec/iterable-system-webhooks.asyncapi.yaml`, in the spec's order; each has its own schema. */
export const SPEC_EVENT_NAMES = [
  'emailSend',
  'emailOpen',
  'emailClick',
  'emailBounce',
  'emailUnSubscribe',
  'emailComplaint',
  'pushSend',
  'pushOpen',
  'pushBounce',
  'smsSend',
  'smsBounce',
  'smsReceived',
  'inAppSend',
  'inAppOpen',
  'inAppClick',
  'webPushSend',
  'listSubscribe',
  'listUnsubscribe',
  'purchase',
  'customEvent',
] as const;

/** An eventName that has a schema of its own. */
export type SpecEventName = (typeof SPEC_EVENT_NAMES)[number];

/** Names seen in real deliveries (docs/iterable-deliveries.md) that the spec does not describe: validated by the generic schema. */
export const DELIVERY_ONLY_EVENT_NAMES = [
  'emailSendSkip',
  'emailSubscribe',
  'hostedUnsubscribeClick',
  'inAppSendSkip',
  'inAppDelete',
  'inAppRecall',
  'inAppClose',
  'inAppDelivery',
  'pushSendSkip',
  'pushUninstall',
  'smsClick',
  'smsSendSkip',
  'webPushSendSkip',
  'webPushClick',
  'embeddedClick',
  'embeddedImpression',
  'embeddedReceived',
  'embeddedSession',
  'journeyExit',
  'whatsAppSend',
  'whatsAppSendSkip',
  'whatsAppBounce',
  'whatsAppClick',
  'whatsAppReceived',
  'whatsAppSeen',
] as const;

/** Every known eventName: spec types first, then delivery-only names. */
export const KNOWN_EVENT_NAMES: readonly string[] = [...SPEC_EVENT_NAMES, ...DELIVERY_ONLY_EVENT_NAMES];

/** The metric label used for every eventName outside the catalog. */
export const OTHER_EVENT_LABEL = 'other';

const known: ReadonlySet<string> = new Set(KNOWN_EVENT_NAMES);
const spec: ReadonlySet<string> = new Set(SPEC_EVENT_NAMES);

/** True when `name` is in the catalog (spec or real deliveries). */
export function isKnownEvent(name: string): boolean {
  return known.has(name);
}

/** True when `name` is one of the 20 spec message types, i.e. has its own schema. */
export function hasSpecSchema(name: string): name is SpecEventName {
  return spec.has(name);
}

/**
 * A bounded metric label for an eventName: the name itself when it is in the catalog, else `other`.
 * @example eventLabel('emailOpen') // 'emailOpen'
 * @example eventLabel('x'.repeat(500)) // 'other'
 */
export function eventLabel(name: string): string {
  return known.has(name) ? name : OTHER_EVENT_LABEL;
}
