// One TypeBox schema per spec message type (all 20), plus the generic schema for every other eventName.
// Each message's fields are accepted at the top level (spec) and inside `dataFields` (real deliveries), with the same types.
import Type, { type TSchema } from 'typebox';
import type { SpecEventName } from './catalog.ts';
import {
  CampaignFields,
  DeliveryFields,
  IDENTITY_RULE,
  badge,
  bool,
  date,
  email,
  int,
  num,
  obj,
  str,
  userId,
  field,
} from './fields.ts';

/** What the spec says about one message type: its AsyncAPI message and its payload's own fields. */
export interface MessageDefinition {
  title: string;
  summary: string;
  /** The payload schema's description. */
  description: string;
  /** Whether the payload includes the spec's `CampaignFields`. */
  campaign: boolean;
  fields: Record<string, TSchema>;
}

const purchaseItem = Type.Object(
  { id: str('Item ID'), name: str('Item name'), price: num('Item price'), quantity: int('Quantity purchased') },
  { additionalProperties: true },
);

/** The 20 spec message types, field descriptions copied from `spec/iterable-system-webhooks.asyncapi.yaml`. */
export const MESSAGES: Record<SpecEventName, MessageDefinition> = {
  emailSend: {
    title: 'Email Send',
    summary: 'Fired when an email is sent to a user',
    description: 'Payload sent when an email is delivered to a user',
    campaign: true,
    fields: {
      contentId: int('Content variant ID for experiments'),
      createdAt: date('Timestamp of the email send'),
      messageId: str('Unique message identifier'),
      emailSubject: str('Subject line of the sent email'),
    },
  },
  emailOpen: {
    title: 'Email Open',
    summary: 'Fired when a user opens an email',
    description: 'Payload sent when a user opens an email',
    campaign: true,
    fields: {
      contentId: int('Content variant ID for experiments'),
      createdAt: date('Timestamp of the email open'),
      messageId: str('Unique message identifier'),
      emailSubject: str('Subject line of the opened email'),
      userAgent: str('User agent string of the email client'),
      userAgentDevice: str('Device type parsed from the user agent'),
      ip: str('IP address where the email was opened'),
      city: str('City based on IP geolocation'),
      region: str('Region or state based on IP geolocation'),
      country: str('Country based on IP geolocation'),
      timeZone: str('Timezone based on IP geolocation'),
      proxySource: str('Proxy source if the open was via a proxy'),
      isBot: bool('Whether the open was detected as a bot'),
      locale: str('Locale of the user'),
    },
  },
  emailClick: {
    title: 'Email Click',
    summary: 'Fired when a user clicks a link in an email',
    description: 'Payload sent when a user clicks a link in an email',
    campaign: true,
    fields: {
      contentId: int('Content variant ID for experiments'),
      createdAt: date('Timestamp of the click'),
      messageId: str('Unique message identifier'),
      emailSubject: str('Subject line of the email'),
      url: str('The URL that was clicked'),
      userAgent: str('User agent string'),
      ip: str('IP address of the user'),
      city: str('City based on geolocation'),
      region: str('Region based on geolocation'),
      country: str('Country based on geolocation'),
    },
  },
  emailBounce: {
    title: 'Email Bounce',
    summary: 'Fired when an email bounces',
    description: 'Payload sent when an email bounces',
    campaign: true,
    fields: {
      createdAt: date('Timestamp of the bounce'),
      emailSubject: str('Subject line of the bounced email'),
      recipientState: str('State of the recipient after the bounce'),
    },
  },
  emailUnSubscribe: {
    title: 'Email Unsubscribe',
    summary: 'Fired when a user unsubscribes from email',
    description: 'Payload sent when a user unsubscribes from email',
    campaign: true,
    fields: {
      createdAt: date('Timestamp of the unsubscribe'),
      emailSubject: str('Subject line of the email that led to unsubscribe'),
    },
  },
  emailComplaint: {
    title: 'Email Complaint',
    summary: 'Fired when a user marks an email as spam',
    description: 'Payload sent when a user marks an email as spam',
    campaign: true,
    fields: { createdAt: date('Timestamp of the complaint'), emailSubject: str('Subject line of the email') },
  },
  pushSend: {
    title: 'Push Send',
    summary: 'Fired when a push notification is sent to a user',
    description: 'Payload sent when a push notification is delivered',
    campaign: true,
    fields: {
      createdAt: date('Timestamp of the push send'),
      pushMessage: str('The push notification message text'),
      payload: obj('Custom payload data sent with the push'),
      sound: str('Sound to play on the device'),
      badge: badge('Badge count to display'),
      contentAvailable: bool('Whether this is a content-available push'),
      deeplink: str('Deep link URL for the push notification'),
      attachmentUrlAndroid: str('Attachment URL for Android rich push'),
    },
  },
  pushOpen: {
    title: 'Push Open',
    summary: 'Fired when a user opens a push notification',
    description: 'Payload sent when a user opens a push notification',
    campaign: true,
    fields: {
      createdAt: date('Timestamp of the push open'),
      pushMessage: str('The push notification message text'),
      appAlreadyRunning: bool('Whether the app was already in the foreground'),
      payload: obj('Custom payload data'),
      sound: str('Sound associated with the push'),
      badge: badge('Badge count'),
      contentAvailable: bool('Whether this was a content-available push'),
      deeplink: str('Deep link URL'),
      locale: str('User locale'),
    },
  },
  pushBounce: {
    title: 'Push Bounce',
    summary: 'Fired when a push notification bounces due to invalid token',
    description: 'Payload sent when a push notification bounces due to an invalid token',
    campaign: true,
    fields: { createdAt: date('Timestamp of the bounce') },
  },
  smsSend: {
    title: 'SMS Send',
    summary: 'Fired when an SMS message is sent to a user',
    description: 'Payload sent when an SMS message is delivered',
    campaign: true,
    fields: {
      createdAt: date('Timestamp of the SMS send'),
      smsMessage: str('The SMS message text'),
      renderedSmsMessage: str('The rendered SMS message text after personalization'),
      fromPhoneNumberId: int('ID of the sending phone number'),
      fromSMSSenderId: str('Sender ID for the SMS'),
      toPhoneNumber: str('Recipient phone number'),
      imageUrl: str('Image URL for MMS messages'),
      smsSendCount: int('Number of SMS segments sent'),
      mmsSendCount: int('Number of MMS messages sent'),
      isSMSEstimation: bool('Whether the send count is an estimation'),
      espName: str('Name of the ESP used for delivery'),
      billingParty: str('Billing party for the SMS'),
      espAccountId: str('ESP account identifier'),
      locale: str('User locale'),
      timeZone: str('User timezone'),
      catalogLookupCount: int('Number of catalog lookups performed'),
      catalogCollectionCount: int('Number of catalog collections queried'),
    },
  },
  smsBounce: {
    title: 'SMS Bounce',
    summary: 'Fired when an SMS message bounces',
    description: 'Payload sent when an SMS message bounces',
    campaign: true,
    fields: { createdAt: date('Timestamp of the bounce'), toPhoneNumber: str('Phone number that bounced') },
  },
  smsReceived: {
    title: 'SMS Received',
    summary: 'Fired when an inbound SMS message is received from a user',
    description: 'Payload sent when an inbound SMS is received from a user',
    campaign: false,
    fields: {
      createdAt: date('Timestamp when the SMS was received'),
      fromPhoneNumber: str('Phone number the SMS was sent from'),
      smsMessage: str('Content of the received SMS'),
    },
  },
  inAppSend: {
    title: 'In-App Send',
    summary: 'Fired when an in-app message is sent to a user',
    description: 'Payload sent when an in-app message is sent to a user',
    campaign: true,
    fields: { createdAt: date('Timestamp of the in-app send'), messageId: str('Unique message identifier') },
  },
  inAppOpen: {
    title: 'In-App Open',
    summary: 'Fired when a user views an in-app message',
    description: 'Payload sent when a user views an in-app message',
    campaign: true,
    fields: { createdAt: date('Timestamp of the in-app view'), messageId: str('Unique message identifier') },
  },
  inAppClick: {
    title: 'In-App Click',
    summary: 'Fired when a user clicks a button or link in an in-app message',
    description: 'Payload sent when a user clicks a link or button in an in-app message',
    campaign: true,
    fields: {
      createdAt: date('Timestamp of the click'),
      messageId: str('Unique message identifier'),
      clickedUrl: str('URL that was clicked'),
    },
  },
  webPushSend: {
    title: 'Web Push Send',
    summary: 'Fired when a web push notification is sent to a user',
    description: 'Payload sent when a web push notification is delivered',
    campaign: true,
    fields: { createdAt: date('Timestamp of the web push send'), messageId: str('Unique message identifier') },
  },
  listSubscribe: {
    title: 'List Subscribe',
    summary: 'Fired when a user subscribes to a list',
    description: 'Payload sent when a user subscribes to a list',
    campaign: false,
    fields: {
      createdAt: date('Timestamp of the subscription'),
      listId: int('ID of the list subscribed to'),
      listName: str('Name of the list subscribed to'),
    },
  },
  listUnsubscribe: {
    title: 'List Unsubscribe',
    summary: 'Fired when a user unsubscribes from a list',
    description: 'Payload sent when a user unsubscribes from a list',
    campaign: false,
    fields: {
      createdAt: date('Timestamp of the unsubscription'),
      listId: int('ID of the list unsubscribed from'),
      listName: str('Name of the list unsubscribed from'),
    },
  },
  purchase: {
    title: 'Purchase',
    summary: 'Fired when a purchase event is tracked for a user',
    description: 'Payload sent when a purchase event is tracked',
    campaign: false,
    fields: {
      createdAt: date('Timestamp of the purchase'),
      total: num('Total purchase amount'),
      items: field('array', 'Items purchased', { items: purchaseItem }),
    },
  },
  customEvent: {
    title: 'Custom Event',
    summary: 'Fired when a custom event is tracked for a user',
    description: 'Payload sent when a custom event is tracked for a user',
    campaign: false,
    fields: { createdAt: date('Timestamp of the custom event') },
  },
};

function messageSchema(name: SpecEventName, def: MessageDefinition): TSchema {
  // Spec fields last: their per-message descriptions win over the shared ones.
  const eventFields = { ...DeliveryFields, ...(def.campaign ? CampaignFields : {}), ...def.fields };
  const dataFields = Type.Object(
    { email, userId, ...eventFields },
    {
      additionalProperties: true,
      description: 'Event-specific data fields (real deliveries nest the event fields here)',
    },
  );
  return Type.Object(
    {
      email,
      userId,
      eventName: Type.Literal(name, { description: 'The name of the system event that triggered the webhook' }),
      ...eventFields,
      dataFields: Type.Optional(dataFields),
    },
    { additionalProperties: true, title: def.title, description: def.description, anyOf: IDENTITY_RULE },
  );
}

/** The schema of each spec message type, keyed by eventName. */
export const EVENT_SCHEMAS = Object.fromEntries(
  Object.entries(MESSAGES).map(([name, def]) => [name, messageSchema(name as SpecEventName, def)]),
) as Record<SpecEventName, TSchema>;

/** Every eventName without a spec schema (known delivery-only names and unknown ones): only the envelope is checked. */
export const GenericEventSchema = Type.Object(
  {
    email,
    userId,
    eventName: Type.String({ description: 'The name of the system event that triggered the webhook' }),
    dataFields: Type.Optional(
      Type.Object({}, { additionalProperties: true, description: 'Event-specific data fields' }),
    ),
  },
  {
    additionalProperties: true,
    title: 'Other Event',
    description: 'Any other Iterable system webhook event: envelope only',
  },
);
