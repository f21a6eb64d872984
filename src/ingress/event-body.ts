// Turns the raw request bytes into an event body: UTF-8 check, nesting bound, JSON parse, object with a string eventName.
import { isUtf8 } from 'node:buffer';
import type { ErrorCode } from '../errors.ts';

/**
 * Deepest object/array nesting accepted. V8 parses far deeper JSON without trouble, but everything downstream
 * (validation, JSONata, structured clone) recurses; Iterable payloads nest about five levels.
 */
export const MAX_JSON_DEPTH = 64;

/** A parsed event body, or the error code to answer with. */
export type ParsedEvent = { body: Record<string, unknown>; eventName: string } | { error: ErrorCode };

/** Deepest `{`/`[` nesting in JSON text, ignoring brackets inside strings; stops counting once past `max`. */
export function jsonDepthExceeds(raw: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/**
 * Parse a webhook body. `__proto__` keys are safe: `JSON.parse` makes them own data properties and never touches prototypes.
 * @example parseEvent(Buffer.from('{"eventName":"emailSend"}')) // { body: { eventName: 'emailSend' }, eventName: 'emailSend' }
 */
export function parseEvent(raw: Buffer): ParsedEvent {
  if (!isUtf8(raw)) return { error: 'invalid_utf8' };
  if (jsonDepthExceeds(raw, MAX_JSON_DEPTH)) return { error: 'json_too_deep' };
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    return { error: 'invalid_json' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { error: 'not_an_object' };
  const eventName = (body as { eventName?: unknown }).eventName;
  if (typeof eventName !== 'string' || eventName === '') return { error: 'missing_event_name' };
  return { body: body as Record<string, unknown>, eventName };
}
