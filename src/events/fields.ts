// Building blocks of the event schemas: nullable typed fields, Iterable's date format, and the field groups many messages share.
// Real deliveries send `null` for any optional field, so every event field here accepts its JSON type or `null`.
import Type from 'typebox';

interface JsonTypes {
  integer: number;
  number: number;
  string: string;
  boolean: boolean;
  array: unknown[];
  object: Record<string, unknown>;
}

/** An optional event field of one JSON type that may also be `null` (one `type` array, so one clear error per field). */
export function field<K extends keyof JsonTypes>(type: K, description: string, extra: Record<string, unknown> = {}) {
  return Type.Optional(Type.Unsafe<JsonTypes[K] | null>({ ...extra, type: [type, 'null'], description }));
}

export const int = (description: string) => field('integer', description);
export const num = (description: string) => field('number', description);
export const str = (description: string) => field('string', description);
export const bool = (description: string) => field('boolean', description);
/** A free-form object field (e.g. a push `payload`): its own contents are not checked. */
export const obj = (description: string) => field('object', description, { additionalProperties: true });
export const strList = (description: string) => field('array', description, { items: { type: 'string' } });

/**
 * Iterable's `2016-12-02 20:21:04 +00:00` or ISO 8601 / RFC 3339 (`2016-12-02T20:21:04Z`, `...04.123+01:00`).
 * A pattern rather than a registered format, so the JSON Schema that `hookroute schema` prints means the same elsewhere.
 * Seconds, fractions and the offset are optional; month, day, hour and minute ranges are checked.
 */
export const DATE_TIME_PATTERN =
  '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])[T ]([01]\\d|2[0-3]):[0-5]\\d(:([0-5]\\d|60)(\\.\\d{1,9})?)?( ?(Z|[+-]([01]\\d|2[0-3]):?[0-5]\\d))?$';

/** A timestamp field in either accepted date format. */
export const date = (description: string) => field('string', description, { pattern: DATE_TIME_PATTERN });

/** `badge` is an integer in the spec; real push deliveries also send `""`. */
export const badge = (description: string) =>
  Type.Optional(
    Type.Unsafe<number | string | null>({ type: ['integer', 'string', 'null'], maxLength: 0, description }),
  );

/** The user's email (spec BaseWebhookFields). Not format-checked: Iterable already accepted the address. */
export const email = str('Email address of the user associated with the event');

/** The user id of projects keyed by userId; Iterable sends a string, some exports a number. */
export const userId = Type.Optional(
  Type.Unsafe<string | number | null>({
    type: ['string', 'number', 'null'],
    description: 'Iterable userId of the user, for projects keyed by userId',
  }),
);

/**
 * Who the event is about. Rule: a spec event needs a top-level string `email` or a top-level string/number `userId`
 * (userId-keyed projects omit email). `dataFields.email` alone does not count: Iterable always sends the top-level one.
 */
export const IDENTITY_RULE = [
  { required: ['email'], properties: { email: { type: 'string' } } },
  { required: ['userId'], properties: { userId: { type: ['string', 'number'] } } },
];

/** Spec `CampaignFields`: common campaign-related fields in webhook payloads. */
export const CampaignFields = {
  campaignId: int('ID of the associated campaign'),
  campaignName: str('Name of the associated campaign'),
  templateId: int('ID of the associated template'),
  templateName: str('Name of the associated template'),
  workflowId: int('ID of the associated workflow if applicable'),
  workflowName: str('Name of the associated workflow if applicable'),
  channelId: int('ID of the messaging channel'),
  messageTypeId: int('ID of the message type'),
  experimentId: int('ID of the experiment if part of an A/B test'),
  labels: strList('Labels associated with the campaign'),
};

/** Fields the spec omits but real deliveries carry (docs/iterable-deliveries.md); typed wherever they appear. */
export const DeliveryFields = {
  messageId: str('Unique message identifier (32 hex characters for email)'),
  emailId: str('Email identifier: `c<campaignId>:t<templateId>:<email>`'),
  linkId: str('ID of the clicked link'),
  linkUrl: str('The URL of the clicked link'),
  canonicalUrlId: str('ID of the canonical form of the clicked URL'),
  contentId: int('Content variant ID for experiments'),
  expiresAt: date('When the message expires'),
  profileUpdatedAt: date('When the user profile was last updated'),
};
