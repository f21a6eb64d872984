// A pipeline's `dedupe` setting: its schema, and the compiled rule (key expression, window, key limit) routing applies.
import { hash } from 'node:crypto';
import Type from 'typebox';
import { MAX_KEYS_LIMIT } from '../dedupe/seen-keys.ts';
import type { KeyHash } from '../dedupe/seen-table.ts';
import { Duration, parseDuration } from '../schema-kit/units.ts';
import { canonicalJson, dedupeKey } from './jsonata/functions.ts';
import { NEEDS_JSONATA, type CompiledExpression } from './jsonata/transform.ts';

/** The key `dedupe: true` uses: eventName + messageId + createdAt + linkId (email or userId without a messageId). */
export const DEFAULT_DEDUPE_KEY = '$dedupeKey($)';
export const DEFAULT_WINDOW = '24h';
export const DEFAULT_MAX_KEYS = 1_000_000;

export const DedupeSchema = Type.Union(
  [
    Type.Boolean(),
    Type.Object(
      {
        key: Type.Optional(
          Type.String({
            minLength: 1,
            default: DEFAULT_DEDUPE_KEY,
            description:
              'JSONata giving the key of an event (any JSON value; input: the event). Two events with the same key are the same event. An error, or no value, dead-letters the event for this pipeline.',
          }),
        ),
        window: Type.Optional(
          Duration(DEFAULT_WINDOW, 'How long after its first copy a copy with the same key is not delivered again.'),
        ),
        maxKeys: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: MAX_KEYS_LIMIT,
            default: DEFAULT_MAX_KEYS,
            description:
              'Most keys this pipeline remembers (32 bytes of memory each); when full, the oldest is forgotten first (counted in hookroute_dedupe_keys_evicted_total).',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      'Deliver each event once per window: `true` (key `$dedupeKey($)`, window 24h) or `{key, window, maxKeys}`. Seen keys survive restarts and crashes; a dead-letter replay is delivered even if its key was seen.',
  },
);

/** What routing needs of a deduped pipeline. */
export interface DedupeRule {
  /** The key expression's source, for /pipelines and errors. */
  source: string;
  windowMs: number;
  maxKeys: number;
  /** The 64-bit hash of the event's key; rejects when the expression fails or gives no value. */
  keyHash(body: unknown): Promise<KeyHash>;
}

/** The facts of a dedupe rule that /pipelines shows. */
export interface DedupeInfo {
  key: string;
  windowMs: number;
  maxKeys: number;
}

/**
 * The rule for a pipeline's `dedupe` value (already checked against `DedupeSchema`), or undefined when it is off.
 * `compile` turns the key expression into a CompiledExpression (and records a problem when it cannot).
 * @example
 * compileDedupe({ window: '1h' }, compile)?.windowMs; // 3_600_000
 */
export function compileDedupe(
  input: boolean | { key?: string; window?: string | number; maxKeys?: number } | undefined,
  compile: (source: string) => CompiledExpression | undefined,
): DedupeRule | undefined {
  if (input === undefined || input === false) return undefined;
  const o = input === true ? {} : input;
  const source = o.key ?? DEFAULT_DEDUPE_KEY;
  const windowMs = parseDuration(o.window ?? DEFAULT_WINDOW);
  const maxKeys = o.maxKeys ?? DEFAULT_MAX_KEYS;
  if (source.trim() === DEFAULT_DEDUPE_KEY) {
    // The default key needs no JSONata: the bound function itself, called directly. It is a SHA-256 already, so its
    // first 64 bits are the hash (no second digest).
    return { source, windowMs, maxKeys, keyHash: async (body) => hexHash(dedupeKey(body)) };
  }
  const expr = compile(source);
  if (!expr) return undefined;
  return {
    source,
    windowMs,
    maxKeys,
    async keyHash(body) {
      const fast = expr.evaluateSync(body);
      return hashKey(fast !== NEEDS_JSONATA ? fast : await expr.evaluate(body));
    },
  };
}

/**
 * `maxKeys` of every enabled pipeline with `dedupe` on: the seen keys worth holding.
 * @example dedupeLimits(table.pipelines).get('bounces'); // 1_000_000
 */
export function dedupeLimits(
  pipelines: readonly { name: string; enabled: boolean; dedupe?: DedupeInfo }[],
): Map<string, number> {
  const limits = new Map<string, number>();
  for (const p of pipelines) if (p.dedupe && p.enabled) limits.set(p.name, p.dedupe.maxKeys);
  return limits;
}

/**
 * The 64-bit hash of a key value (SHA-256 of its canonical JSON, first 8 bytes). Two different keys collide with
 * a chance of about n²/2⁶⁵ among n keys held (1e-8 for a million).
 * @example hashKey('abc') // { hi: …, lo: … }
 */
export function hashKey(key: unknown): KeyHash {
  if (key === undefined) throw new Error('dedupe.key produced no value');
  const d = hash('sha256', canonicalJson(key), 'buffer');
  return { hi: d.readUInt32LE(0), lo: d.readUInt32LE(4) };
}

/** The first 64 bits of a SHA-256 hex digest, as `hashKey` would give for a key that is already a hash. */
function hexHash(hex: string | undefined): KeyHash {
  if (hex === undefined) throw new Error('dedupe.key produced no value');
  return { hi: parseInt(hex.slice(0, 8), 16), lo: parseInt(hex.slice(8, 16), 16) };
}
