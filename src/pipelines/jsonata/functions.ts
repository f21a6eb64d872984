// The functions hookroute binds into every JSONata expression: `$iterableDate`, `$hash`, `$dedupeKey` (documented in docs/pipelines.md).
import { hash } from 'node:crypto';

// Iterable's own createdAt format (`2016-12-02 20:21:04 +00:00`) and ISO 8601 (`2016-12-02T20:21:04Z`, with or without fraction).
const DATE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Iterable's `2016-12-02 20:21:04 +00:00` (or any ISO 8601 date-time, or epoch milliseconds) as ISO 8601 UTC; anything else: undefined.
 * @example iterableDate('2016-12-02 20:21:04 +00:00') // '2016-12-02T20:21:04.000Z'
 */
export function iterableDate(value: unknown): string | undefined {
  if (typeof value === 'number')
    return Number.isFinite(value) && Math.abs(value) <= 8.64e15 ? new Date(value).toISOString() : undefined;
  if (typeof value !== 'string' || value.length > 64) return undefined;
  const m = DATE.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = '', zone = 'Z'] = m;
  const tz = zone.toUpperCase() === 'Z' ? 'Z' : zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${frac.slice(0, 4)}${tz}`);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 31 February over into March: only accept a day that exists.
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCDate() !== Number(d)) return undefined;
  return new Date(ms).toISOString();
}

/** JSON with object keys sorted at every level, so equal values always serialise the same way. */
export function canonicalJson(value: unknown): string {
  if (value === undefined || typeof value === 'function') return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const record = value as Record<string, unknown>;
  return `{${keys
    .filter((k) => record[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`)
    .join(',')}}`;
}

/**
 * SHA-256 (hex) of the canonical JSON of `value`: the same data gives the same hash whatever its key order.
 * @example canonicalHash({ b: 1, a: 2 }) === canonicalHash({ a: 2, b: 1 }) // true
 */
export function canonicalHash(value: unknown): string {
  // The one-shot digest: several times cheaper than a Hash object for short inputs (this runs per event under dedupe).
  return hash('sha256', canonicalJson(value), 'hex');
}

/**
 * A dedupe key for an Iterable event, which carries no id of its own: the hash of eventName, messageId, createdAt
 * (normalised) and linkId, read from the top level or from `dataFields`. Without a messageId, the email or userId stands in.
 * @example dedupeKey(body) // '5f0c…' (64 hex characters)
 */
export function dedupeKey(event: unknown): string | undefined {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return undefined;
  const top = event as Record<string, unknown>;
  const data =
    top.dataFields !== null && typeof top.dataFields === 'object' ? (top.dataFields as Record<string, unknown>) : {};
  const field = (name: string): unknown => top[name] ?? data[name] ?? null;
  const createdAt = field('createdAt');
  const messageId = field('messageId');
  return canonicalHash([
    field('eventName'),
    messageId,
    iterableDate(createdAt) ?? createdAt,
    field('linkId'),
    messageId === null ? (field('email') ?? field('userId')) : null,
  ]);
}
