// Stand-in Iterable event generator, used only while src/events/samples.ts does not exist yet.
// Shapes follow iterable-deliveries.md: event fields nested in dataFields, Iterable's createdAt format, nullable fields.

const CAMPAIGNS = [59667, 721398, 1074721, 74768, 884213];
const TEMPLATES = [93849, 113554, 204411, 310077];

function hex32(seq: number): string {
  let out = '';
  let x = (seq + 1) * 2654435761;
  while (out.length < 32) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += x.toString(16).padStart(8, '0');
  }
  return out.slice(0, 32);
}

function createdAt(seq: number): string {
  const d = new Date(Date.UTC(2026, 0, 1) + seq * 1000);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} +00:00`;
}

/**
 * A realistic Iterable system-webhook body for `eventName`, deterministic in `seq`.
 * @example fallbackSampleEvent('emailSend', 1).dataFields // { campaignId: ..., messageId: ... }
 */
export function fallbackSampleEvent(eventName: string, seq: number): Record<string, unknown> {
  const email = `user${seq % 5000}@example.com`;
  const campaignId = CAMPAIGNS[seq % CAMPAIGNS.length]!;
  const templateId = TEMPLATES[seq % TEMPLATES.length]!;
  const common = { email, createdAt: createdAt(seq), campaignId, templateId, messageId: hex32(seq) };
  let dataFields: Record<string, unknown>;
  if (eventName.startsWith('email')) {
    dataFields = {
      ...common,
      contentId: 331201,
      emailSubject: 'Your weekly digest is here',
      campaignName: 'Weekly digest',
      templateName: 'digest-v3',
      workflowId: seq % 3 === 0 ? 60102 : null,
      workflowName: null,
      channelId: 3420,
      messageTypeId: 3866,
      experimentId: null,
      emailId: `c${campaignId}:t${templateId}:${email}`,
    };
    if (eventName === 'emailClick')
      Object.assign(dataFields, {
        url: 'https://example.com/a',
        linkUrl: 'https://example.com/a',
        linkId: '3145668988',
        userAgent: 'Mozilla/5.0',
        ip: '162.245.22.184',
        city: 'San Francisco',
        region: 'CA',
      });
    if (eventName === 'emailBounce')
      Object.assign(dataFields, { recipientState: 'HardBounce', reason: 'mailbox unavailable' });
  } else if (eventName.startsWith('push')) {
    dataFields = {
      ...common,
      appAlreadyRunning: false,
      pushMessage: 'Hi there',
      payload: { path: 'shop_home' },
      sound: null,
      badge: '',
      contentAvailable: false,
      deeplink: null,
      locale: null,
    };
  } else if (eventName.startsWith('inApp')) {
    dataFields = {
      ...common,
      inAppBody: '<div>'.padEnd(400, 'x') + '</div>',
      locale: null,
      campaignName: 'In-app promo',
    };
  } else if (eventName.startsWith('sms')) {
    dataFields = {
      ...common,
      fromPhoneNumber: '+16503926753',
      toPhoneNumber: '+14155824541',
      smsMessage: 'Message text',
    };
  } else {
    dataFields = {
      ...common,
      country: 'United States',
      city: 'San Jose',
      ip: '192.168.0.1',
      locale: null,
      labels: [],
      url: 'https://example.com/unsub',
      channelId: 12466,
    };
  }
  return seq % 7 === 0 ? { userId: String(seq), eventName, dataFields } : { email, eventName, dataFields };
}
