// Deterministic, realistic Iterable webhook bodies for every catalog eventName, shaped as real deliveries are
// (event fields inside `dataFields`, Iterable's date format). Used by `hookroute send`, tests and benchmarks.
import { hasSpecSchema } from './catalog.ts';

type Fields = Record<string, unknown>;

/** Everything one sample's fields are drawn from; all of it derives from (eventName, seq). */
interface Draw {
  seq: number;
  int(min: number, max: number): number;
  pick<T>(values: readonly T[]): T;
  hex(length: number): string;
  email: string;
  createdAt: string;
  campaignId: number;
  templateId: number;
}

const FIRST = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'ken', 'margaret', 'linus', 'radia', 'donald'];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net'];
const CITIES = [
  ['San Francisco', 'CA', 'US'],
  ['Berlin', 'BE', 'DE'],
  ['London', 'ENG', 'GB'],
  ['Austin', 'TX', 'US'],
] as const;
const AGENTS = [
  ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4)', 'Mac'],
  ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_4)', 'iPhone'],
  ['Mozilla/5.0 (Windows NT 10.0; Win64; x64)', 'Windows'],
] as const;
const SUBJECTS = [
  'Your weekly digest',
  'Welcome aboard',
  'Your order has shipped',
  'Last chance: 20% off',
  'We miss you',
];
const BASE_TIME = Date.UTC(2024, 0, 15, 9, 0, 0);

/** mulberry32 seeded by FNV-1a of the eventName mixed with seq: same inputs, same payload, on every machine. */
function randomFor(eventName: string, seq: number): () => number {
  let h = 0x811c9dc5;
  for (let i = 0; i < eventName.length; i++) h = Math.imul(h ^ eventName.charCodeAt(i), 0x01000193);
  let state = (h ^ Math.imul(seq + 1, 0x9e3779b1)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Iterable's own timestamp format, e.g. `2016-12-02 20:21:04 +00:00`. */
export function iterableDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +00:00`;
}

function draw(eventName: string, seq: number): Draw {
  const random = randomFor(eventName, seq);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const hex = (length: number) => Array.from({ length }, () => Math.floor(random() * 16).toString(16)).join('');
  return {
    seq,
    int,
    pick,
    hex,
    email: `${pick(FIRST)}.${seq}@${pick(DOMAINS)}`,
    createdAt: iterableDate(BASE_TIME + seq * 1000 + int(0, 999)),
    campaignId: int(10_000, 2_000_000),
    templateId: int(10_000, 3_000_000),
  };
}

/** The spec's CampaignFields as a send carries them. */
function campaign(d: Draw): Fields {
  const inWorkflow = d.int(0, 1) === 1;
  return {
    campaignId: d.campaignId,
    campaignName: `Campaign ${d.campaignId}`,
    templateId: d.templateId,
    templateName: `Template ${d.templateId}`,
    workflowId: inWorkflow ? d.int(1000, 90_000) : null,
    workflowName: inWorkflow ? 'Onboarding journey' : null,
    channelId: d.int(1000, 20_000),
    messageTypeId: d.int(1000, 20_000),
    experimentId: null,
    labels: [],
  };
}

/** What engagement events (opens, clicks, bounces) repeat from the send. */
const ref = (d: Draw): Fields => ({ campaignId: d.campaignId, templateId: d.templateId });
const emailRef = (d: Draw): Fields => ({
  ...ref(d),
  messageId: d.hex(32),
  emailId: `c${d.campaignId}:t${d.templateId}:${d.email}`,
});
const phone = (d: Draw) => `+1${d.int(200, 999)}${d.int(100, 999)}${d.int(1000, 9999)}`;
function geo(d: Draw): Fields {
  const [city, region, country] = d.pick(CITIES);
  const [userAgent, userAgentDevice] = d.pick(AGENTS);
  return { ip: `198.51.100.${d.int(1, 254)}`, city, region, country, userAgent, userAgentDevice };
}
function link(d: Draw): Fields {
  const url = `https://example.com/p/${d.int(1, 500)}?utm_campaign=${d.campaignId}`;
  const linkId = String(d.int(1_000_000_000, 4_000_000_000));
  return { url, linkUrl: url, linkId, canonicalUrlId: linkId };
}
function push(d: Draw): Fields {
  return {
    ...campaign(d),
    messageId: d.hex(32),
    pushMessage: 'Your cart is waiting',
    payload: { path: 'shop_home' },
    sound: d.pick(['', null, 'default']),
    badge: d.pick(['', null, 1]),
    contentAvailable: false,
    deeplink: null,
    platformEndpoint: `arn:aws:sns:us-east-1:000000000000:endpoint/APNS/app/${d.hex(8)}`,
    locale: null,
  };
}
const whatsApp = (d: Draw): Fields => ({
  ...ref(d),
  messageId: d.hex(24),
  toPhoneNumber: phone(d),
  fromPhoneNumber: phone(d),
});
const inApp = (d: Draw): Fields => ({
  ...ref(d),
  messageId: d.hex(32),
  expiresAt: iterableDate(BASE_TIME + 30 * 86_400_000),
});
const embedded = (d: Draw): Fields => ({ ...ref(d), messageId: d.hex(32), placementId: d.int(1, 400) });
const skip =
  (reason: string) =>
  (d: Draw): Fields => ({ campaignId: d.campaignId, messageId: d.hex(32), reason });

/** Event-specific dataFields per eventName; `createdAt` and `email` are added to all of them. */
const FIELDS: Record<string, (d: Draw) => Fields> = {
  emailSend: (d) => ({
    ...campaign(d),
    ...emailRef(d),
    contentId: d.int(100_000, 900_000),
    emailSubject: d.pick(SUBJECTS),
  }),
  emailOpen: (d) => ({
    ...emailRef(d),
    ...geo(d),
    timeZone: 'America/Los_Angeles',
    proxySource: null,
    isBot: false,
    locale: null,
  }),
  emailClick: (d) => ({ ...emailRef(d), ...geo(d), ...link(d) }),
  emailBounce: (d) => ({
    ...campaign(d),
    ...emailRef(d),
    emailSubject: d.pick(SUBJECTS),
    recipientState: 'HardBounce',
  }),
  emailComplaint: (d) => ({
    ...campaign(d),
    ...emailRef(d),
    emailSubject: d.pick(SUBJECTS),
    recipientState: 'Complaint',
  }),
  emailUnSubscribe: (d) => ({
    ...campaign(d),
    ...emailRef(d),
    emailSubject: d.pick(SUBJECTS),
    unsubSource: 'EmailLink',
    channelIds: [],
  }),
  emailSendSkip: skip('DuplicateMarketingMessage'),
  emailSubscribe: (d) => ({
    signupSource: 'WebForm',
    emailListIds: [d.int(1000, 9999)],
    profileUpdatedAt: d.createdAt,
  }),
  hostedUnsubscribeClick: (d) => ({
    ...ref(d),
    ...link(d),
    messageId: d.hex(32),
    ip: `198.51.100.${d.int(1, 254)}`,
    country: 'United States',
    city: 'San Jose',
    locale: null,
    labels: [],
    workflowId: null,
    channelId: d.int(1000, 20_000),
  }),
  pushSend: push,
  pushOpen: (d) => ({ ...push(d), appAlreadyRunning: d.int(0, 1) === 1 }),
  pushBounce: (d) => ({ ...ref(d), messageId: d.hex(32), platformEndpoint: null, reason: 'InvalidToken' }),
  pushSendSkip: skip('MessageQuietHours'),
  pushUninstall: (d) => ({ ...ref(d), messageId: d.hex(32), isGhostPush: false }),
  smsSend: (d) => ({
    ...campaign(d),
    messageId: d.hex(24),
    smsMessage: 'Your code is {{code}}',
    renderedSmsMessage: `Your code is ${d.int(100000, 999999)}`,
    fromPhoneNumberId: d.int(100, 999),
    fromSMSSenderId: null,
    toPhoneNumber: phone(d),
    imageUrl: null,
    smsSendCount: 1,
    mmsSendCount: 0,
    isSMSEstimation: false,
    espName: 'Twilio',
    billingParty: 'Iterable',
    espAccountId: `AC${d.hex(32)}`,
    locale: null,
    timeZone: null,
    catalogLookupCount: 0,
    catalogCollectionCount: 0,
  }),
  smsBounce: (d) => ({
    ...campaign(d),
    messageId: d.hex(24),
    toPhoneNumber: phone(d),
    smsProviderResponse: { code: 30006, message: 'Landline or unreachable carrier' },
  }),
  smsClick: (d) => ({ ...ref(d), ...link(d), messageId: d.hex(24) }),
  smsReceived: (d) => ({
    fromPhoneNumber: phone(d),
    toPhoneNumber: phone(d),
    smsMessage: d.pick(['STOP', 'YES', 'Thanks!']),
  }),
  smsSendSkip: skip('MissingPhoneNumber'),
  inAppSend: (d) => ({ ...campaign(d), ...inApp(d), messageContext: { saveToInbox: true, trigger: 'immediate' } }),
  inAppOpen: (d) => ({ ...inApp(d), messageContext: { saveToInbox: true, location: 'in-app' } }),
  inAppClick: (d) => ({
    ...inApp(d),
    clickedUrl: `https://example.com/offer/${d.int(1, 99)}`,
    url: `https://example.com/offer/${d.int(1, 99)}`,
  }),
  inAppSendSkip: skip('InAppMessageExpired'),
  inAppDelete: (d) => ({ ...inApp(d), deleteAction: 'inbox-swipe' }),
  inAppRecall: inApp,
  inAppClose: (d) => ({ ...inApp(d), closeAction: 'link', url: 'iterable://dismiss' }),
  inAppDelivery: inApp,
  webPushSend: (d) => ({
    ...campaign(d),
    messageId: d.hex(32),
    webPushMessage: 'New arrivals are here',
    webPushIcon: null,
    webPushClickAction: 'https://example.com/new',
  }),
  webPushSendSkip: skip('BrowserTokenMissing'),
  webPushClick: (d) => ({ ...ref(d), messageId: d.hex(32), clickedUrl: 'https://example.com/new' }),
  embeddedClick: (d) => ({ ...embedded(d), buttonIdentifier: 'primary', targetUrl: 'https://example.com/embedded' }),
  embeddedImpression: (d) => ({ ...embedded(d), impressionCount: d.int(1, 5), totalDuration: d.int(500, 20_000) }),
  embeddedReceived: embedded,
  embeddedSession: (d) => ({
    session: { id: d.hex(32), start: d.createdAt, end: d.createdAt },
    impressions: [{ messageId: d.hex(32), displayCount: 1, displayDuration: 3.5 }],
  }),
  journeyExit: (d) => ({
    workflowId: d.int(1000, 90_000),
    workflowName: 'Onboarding journey',
    journeyExitReason: 'CompletedJourney',
  }),
  whatsAppSend: (d) => ({ ...campaign(d), ...whatsApp(d), whatsAppMessage: 'Your order has shipped' }),
  whatsAppSendSkip: skip('MissingPhoneNumber'),
  whatsAppBounce: (d) => ({ ...whatsApp(d), reason: 'Undeliverable' }),
  whatsAppClick: (d) => ({ ...whatsApp(d), ...link(d) }),
  whatsAppReceived: (d) => ({
    fromPhoneNumber: phone(d),
    toPhoneNumber: phone(d),
    whatsAppMessage: 'Where is my order?',
  }),
  whatsAppSeen: whatsApp,
  listSubscribe: (d) => ({ listId: d.int(1000, 99_999), listName: 'Newsletter' }),
  listUnsubscribe: (d) => ({ listId: d.int(1000, 99_999), listName: 'Newsletter' }),
  purchase: (d) => {
    const items = Array.from({ length: d.int(1, 3) }, (_, i) => ({
      id: `sku-${d.int(100, 999)}`,
      name: `Item ${i + 1}`,
      price: d.int(100, 9999) / 100,
      quantity: d.int(1, 3),
    }));
    const total = Math.round(items.reduce((sum, item) => sum + item.price * item.quantity, 0) * 100) / 100;
    return { id: d.hex(16), total, items, campaignId: d.campaignId, templateId: d.templateId };
  },
  customEvent: (d) => ({ eventType: 'planUpgraded', plan: d.pick(['team', 'business']), seats: d.int(2, 50) }),
};

/**
 * A realistic webhook body for `eventName` (any name: unknown ones get a plain envelope), deterministic in (eventName, seq).
 * Every fourth sample also carries a `userId`, as userId-keyed projects send.
 * @example sampleEvent('emailSend', 0).dataFields // { campaignId: ..., messageId: '<32 hex>', emailId: 'c…:t…:ada.0@example.com', ... }
 */
export function sampleEvent(eventName: string, seq: number): Record<string, unknown> {
  const d = draw(eventName, seq);
  const own = Object.hasOwn(FIELDS, eventName) ? FIELDS[eventName]!(d) : {};
  const body: Record<string, unknown> = { email: d.email };
  if (seq % 4 === 3) body.userId = `user-${seq}`;
  body.eventName = eventName;
  body.dataFields = { ...own, email: d.email, createdAt: d.createdAt };
  return body;
}

/** The one field `invalidSampleEvent` breaks per eventName, and the wrong-typed value it puts there. */
const BROKEN: Record<string, [field: string, wrong: unknown]> = {
  smsReceived: ['createdAt', 1480976485000],
  listSubscribe: ['listId', 'newsletter'],
  listUnsubscribe: ['listId', 'newsletter'],
  purchase: ['total', '12.50'],
  customEvent: ['createdAt', 1480976485000],
};

/**
 * JSON pointer of the field `invalidSampleEvent(eventName, …)` breaks: `/dataFields/campaignId` for campaign messages,
 * another typed field for the spec types without campaign fields, `/email` for every eventName without a spec schema.
 */
export function invalidFieldPath(eventName: string): string {
  if (!hasSpecSchema(eventName)) return '/email';
  return `/dataFields/${BROKEN[eventName]?.[0] ?? 'campaignId'}`;
}

/**
 * `sampleEvent(eventName, seq)` with exactly one known field of the wrong type (see `invalidFieldPath`).
 * @example validateEvent(invalidSampleEvent('emailSend', 0)) // [{ path: '/dataFields/campaignId', ... }]
 */
export function invalidSampleEvent(eventName: string, seq: number): Record<string, unknown> {
  const body = sampleEvent(eventName, seq);
  if (!hasSpecSchema(eventName)) return { ...body, email: 12345 };
  const [field, wrong] = BROKEN[eventName] ?? ['campaignId', `c${(body.dataFields as Fields).campaignId}`];
  return { ...body, dataFields: { ...(body.dataFields as Fields), [field]: wrong } };
}
