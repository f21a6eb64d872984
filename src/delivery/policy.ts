// The delivery policy of one sink, in one place: the retry/queue/breaker/batch schemas of a pipeline's sink entry, their
// compiled shapes, the conversion between them and the backoff maths. Changing the retry policy starts and ends here.
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { Duration, Size, parseDuration, parseRate, parseSize } from '../schema-kit/units.ts';

export const RetrySchema = Type.Object(
  {
    attempts: Type.Union([Type.Integer({ minimum: 1, maximum: 100 }), Type.Literal('unlimited')], {
      default: 8,
      description:
        'Attempts in all, the first one included, or `unlimited` (then bound the time with `maxAge`, or the event waits for the destination as long as it takes).',
    }),
    initialDelay: Duration(
      '500ms',
      'Upper bound of the first backoff (full jitter: the wait is random between 0 and the bound).',
    ),
    maxDelay: Duration('5m', 'Largest wait between attempts; also caps `Retry-After`.'),
    maxAge: Type.Optional(
      Duration(
        undefined,
        'Dead-letter a delivery that has been failing for longer than this (counted from its first failed attempt), whatever `attempts` says; e.g. `3d`.',
      ),
    ),
  },
  { additionalProperties: false, description: 'Retries with exponential backoff and full jitter.' },
);

export const QueueSchema = Type.Object(
  {
    concurrency: Type.Union([Type.Integer({ minimum: 1, maximum: 1024 }), Type.Literal('adaptive')], {
      default: 4,
      description:
        'Sends in flight at once for this sink: a number, or `adaptive` (the default for `http`): grows while the destination answers at its usual latency, shrinks on 429, 5xx, timeouts or rising latency, between 1 and `maxConcurrency`.',
    }),
    maxConcurrency: Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 128,
      description: 'Upper bound of an `adaptive` concurrency.',
    }),
    rate: Type.Optional(
      Type.String({
        pattern: '^\\s*\\d+\\s*/\\s*(\\d+\\s*)?(ms|s|m|h)\\s*$',
        description: 'Most deliveries per interval, e.g. `1/s`, `100/m`, `5/10s`.',
        examples: ['1/s'],
      }),
    ),
    capacity: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 1000,
      description:
        'Deliveries held in memory; more wait in the journal on disk. Not set and with `batch`: at least 4 × `batch.maxEvents`, so several batches can be in flight.',
    }),
  },
  { additionalProperties: false, description: 'The bounded queue in front of the sink.' },
);

export const BreakerSchema = Type.Object(
  {
    threshold: Type.Integer({
      minimum: 1,
      default: 10,
      description: 'Consecutive failed attempts (across all deliveries of this sink) that open the breaker.',
    }),
    cooldown: Duration(
      '10s',
      'Pause before one probe delivery is let through (half-open); never longer than `retry.maxDelay`.',
    ),
  },
  { additionalProperties: false, description: 'Per-sink circuit breaker.' },
);

export const BatchSchema = Type.Object(
  {
    maxEvents: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 500,
      description: 'Events in one send at most.',
    }),
    maxBytes: Size('1mb', 'Payload bytes (as JSON) in one send at most; a larger payload goes alone.', 1),
    maxWait: Duration(
      '1s',
      'Longest an event waits for its batch to fill: the latency batching may add when traffic is light.',
    ),
  },
  {
    additionalProperties: false,
    description:
      'Send events in batches (the sink type must support it); a batch goes out when any limit is reached. Omitted: one event per send.',
  },
);

export type RetryInput = Static<typeof RetrySchema>;
export type QueueInput = Static<typeof QueueSchema>;
export type BreakerInput = Static<typeof BreakerSchema>;
export type BatchInput = Static<typeof BatchSchema>;

/** The retry policy in numbers. `attempts` is `Infinity` for `unlimited`. */
export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
  /** Give up on a delivery failing for longer than this; absent: only `attempts` bounds it. */
  maxAgeMs?: number;
}
export interface QueuePolicy {
  /** Fixed sends in flight, or (adaptive) where the limit starts. */
  concurrency: number;
  /** Present when `concurrency: adaptive`: the limit moves between 1 and this. */
  adaptive?: { maxConcurrency: number };
  rate?: { count: number; intervalMs: number };
  capacity: number;
}
export interface BreakerPolicy {
  threshold: number;
  cooldownMs: number;
}
export interface BatchPolicy {
  maxEvents: number;
  maxBytes: number;
  maxWaitMs: number;
}
export interface DeliveryPolicy {
  retry: RetryPolicy;
  queue: QueuePolicy;
  breaker: BreakerPolicy;
  /** Absent: one event per send. */
  batch?: BatchPolicy;
}

/** Defaults a sink type may set for its queue (e.g. Slack's one message a second, http's adaptive concurrency). */
export interface QueueDefaults {
  concurrency?: number | 'adaptive';
  rate?: string;
}

/** Batches a lane holds in memory at least, when `queue.capacity` is not set. */
const BATCHES_HELD = 4;

/** Where an adaptive limit starts: it doubles per round trip until the destination first pushes back. */
const ADAPTIVE_START = 1;

/**
 * The policy of one sink entry: its own values, else the sink type's queue defaults, else the schemas' defaults.
 * The input was already checked against the schemas; throws (with a message for the user) on a bad unit.
 * @example
 * compilePolicy({ retry: { attempts: 'unlimited', maxAge: '3d' } }).retry // { attempts: Infinity, ..., maxAgeMs: 259200000 }
 */
export function compilePolicy(
  entry: { retry?: unknown; queue?: unknown; breaker?: unknown; batch?: unknown },
  typeDefaults: QueueDefaults = {},
): DeliveryPolicy {
  const retry = { ...(Value.Default(RetrySchema, {}) as RetryInput), ...(entry.retry as Partial<RetryInput>) };
  const queue = {
    ...(Value.Default(QueueSchema, {}) as QueueInput),
    ...pickDefined(typeDefaults),
    ...(entry.queue as Partial<QueueInput>),
  };
  const breaker = {
    ...(Value.Default(BreakerSchema, {}) as BreakerInput),
    ...(entry.breaker as Partial<BreakerInput>),
  };
  const maxDelayMs = parseDuration(retry.maxDelay);
  const adaptive = queue.concurrency === 'adaptive';
  const batch =
    entry.batch === undefined
      ? undefined
      : { ...(Value.Default(BatchSchema, {}) as BatchInput), ...(entry.batch as Partial<BatchInput>) };
  return {
    retry: {
      attempts: retry.attempts === 'unlimited' ? Number.POSITIVE_INFINITY : retry.attempts,
      initialDelayMs: parseDuration(retry.initialDelay),
      maxDelayMs,
      ...(retry.maxAge !== undefined ? { maxAgeMs: parseDuration(retry.maxAge) } : {}),
    },
    queue: {
      concurrency: adaptive ? Math.min(ADAPTIVE_START, queue.maxConcurrency) : (queue.concurrency as number),
      ...(adaptive ? { adaptive: { maxConcurrency: queue.maxConcurrency } } : {}),
      ...(queue.rate !== undefined ? { rate: parseRate(queue.rate) } : {}),
      // A lane holding only two batches would send only two at a time, whatever the concurrency allows.
      capacity:
        batch && (entry.queue as Partial<QueueInput> | undefined)?.capacity === undefined
          ? Math.max(queue.capacity, BATCHES_HELD * batch.maxEvents)
          : queue.capacity,
    },
    // The breaker never pauses a sink longer than its retry policy would wait anyway, so it cannot stretch a short schedule.
    breaker: { threshold: breaker.threshold, cooldownMs: Math.min(parseDuration(breaker.cooldown), maxDelayMs) },
    ...(batch
      ? {
          batch: {
            maxEvents: batch.maxEvents,
            maxBytes: parseSize(batch.maxBytes),
            maxWaitMs: parseDuration(batch.maxWait),
          },
        }
      : {}),
  };
}

function pickDefined(defaults: QueueDefaults): Partial<QueueInput> {
  const out: Partial<QueueInput> = {};
  if (defaults.concurrency !== undefined) out.concurrency = defaults.concurrency;
  if (defaults.rate !== undefined) out.rate = defaults.rate;
  return out;
}

/**
 * Whether a failed delivery gets another attempt: attempts left, and (with `maxAge`) not failing for too long.
 * @example
 * mayRetry({ attempts: Infinity, initialDelayMs: 500, maxDelayMs: 300_000, maxAgeMs: 60_000 }, 40, t0, t0 + 61_000) // false
 */
export function mayRetry(
  policy: RetryPolicy,
  attempts: number,
  firstFailureAt: number | undefined,
  now: number,
): boolean {
  if (attempts >= policy.attempts) return false;
  if (policy.maxAgeMs === undefined || firstFailureAt === undefined) return true;
  return now - firstFailureAt < policy.maxAgeMs;
}

/**
 * Wait before attempt `attempt + 1`, where `attempt` counts the failures so far (1 = after the first failure).
 * Full jitter: uniform in [0, min(maxDelay, initialDelay * 2^(attempt-1))], so many failing senders spread out
 * instead of retrying in lockstep. A destination's Retry-After is a floor (capped by maxDelay, so a hostile
 * header cannot park a lane for days).
 * @example
 * backoffDelay(3, { attempts: 8, initialDelayMs: 500, maxDelayMs: 300_000 }) // somewhere in 0..2000
 */
export function backoffDelay(
  attempt: number,
  policy: Pick<RetryPolicy, 'initialDelayMs' | 'maxDelayMs'>,
  random: () => number = Math.random,
  retryAfterMs?: number,
): number {
  const exp = Math.max(0, Math.floor(attempt) - 1);
  // 2^exp overflows to Infinity for large exp; min() then keeps it at maxDelay.
  const bound = Math.max(0, Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** exp));
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  const jittered = Math.min(bound, Math.floor(unit * (bound + 1)));
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) return jittered;
  return Math.max(jittered, Math.min(Math.ceil(retryAfterMs), policy.maxDelayMs));
}
