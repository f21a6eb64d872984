// The sink contract: built-in sinks and plugins are both written against `defineSink`.
import type { Static, TSchema } from 'typebox';
import type { QueueDefaults } from '../delivery/policy.ts';

/** Minimal logger interface a sink gets (pino-compatible). */
export interface SinkLogger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

/** What a sink factory receives besides its options. */
export interface SinkContext {
  /** Pipeline name. */
  pipeline: string;
  /** Sink id within the pipeline (its `name`, or `<type>` / `<type>-<n>`). */
  sink: string;
  /** Folder that relative paths in options resolve against (the config file's folder). */
  baseDir: string;
  logger: SinkLogger;
  /** Aborted when the daemon shuts down or the sink is replaced: stop waiting and return. */
  signal: AbortSignal;
}

/** Facts about one delivery attempt, for sinks that want them (headers, file names never come from event data). */
export interface DeliveryMeta {
  eventId: number;
  eventName: string;
  pipeline: string;
  sink: string;
  /** 1 for the first attempt. */
  attempt: number;
  receivedAt: number;
  /**
   * The same on every attempt and after a restart for this event on this sink (see delivery/idempotency-key.ts): send it
   * as `Idempotency-Key` (or your destination's equivalent) so the destination can drop at-least-once duplicates.
   */
  idempotencyKey: string;
}

/** One event of a batch: its payload (read-only, as in `send`) and its delivery meta. */
export interface BatchItem {
  payload: unknown;
  meta: DeliveryMeta;
}

/** Facts about one batch send. */
export interface BatchMeta {
  pipeline: string;
  sink: string;
  /** 1 for the first attempt of this set of events. */
  attempt: number;
  /** Derived from the sorted event ids and the lane: the same for the same set of events, on retries and after a restart. */
  idempotencyKey: string;
}

/** What a send did. Only `delivery/` decides what happens next (retry, breaker, dead letter). */
export type SendOutcome =
  | { ok: true }
  | {
      ok: false;
      /** true: try again later (network error, timeout, 408, 429, 5xx); false: dead-letter at once. */
      retryable: boolean;
      error: string;
      status?: number;
      /** The destination asked us to wait this long (Retry-After). */
      retryAfterMs?: number;
    };

export interface SinkInstance {
  /**
   * Deliver one payload. Resolve with an outcome (or nothing, for success); a thrown error counts as a retryable failure.
   * `signal` is aborted when the attempt times out or the daemon stops.
   * The payload is read-only: the sinks of one pipeline share one payload object (the event body, or the pipeline
   * transform's result, evaluated once per event), so a change made here would reach the other sinks. Copy to change.
   */
  send(payload: unknown, meta: DeliveryMeta, signal: AbortSignal): Promise<SendOutcome | void>;
  /**
   * Deliver several payloads as one unit (one request, one write, one message), for a pipeline entry with `batch:`.
   * The outcome covers the whole batch: a retryable failure retries all of it; a permanent one makes the lane split the
   * batch and try the halves until the refused events are isolated. Required when the definition sets `batches: true`.
   */
  sendBatch?(items: readonly BatchItem[], meta: BatchMeta, signal: AbortSignal): Promise<SendOutcome | void>;
  /** Flush and release resources. Called once, after the last send has settled. */
  close(): Promise<void>;
}

export interface SinkDefinition<S extends TSchema = TSchema> {
  /** The `type` users write in a pipeline's `sinks:` list. Lowercase letters, digits, `-` and `_`. */
  type: string;
  /** One line for generated docs (optional). */
  description?: string;
  /** TypeBox schema of the sink's own options (everything but `type`, `name`, `transform`, `retry`, `queue`, `breaker`, `batch`). */
  options: S;
  /** Queue defaults for this sink type (e.g. Slack: one message a second). */
  defaults?: QueueDefaults;
  /** Instances implement `sendBatch`. Without it a pipeline entry's `batch:` is refused at validate. */
  batches?: boolean;
  create(options: Static<S>, ctx: SinkContext): SinkInstance | Promise<SinkInstance>;
}

/**
 * Declare a sink type. Plugins default-export (or export `sink` / `sinks`) the result.
 * @example
 * export default defineSink({
 *   type: 'discord', description: 'Posts to a Discord webhook',
 *   options: Type.Object({ url: Type.String() }),
 *   create: (opts) => ({ async send(payload) { ... return { ok: true }; }, async close() {} }),
 * });
 */
export function defineSink<S extends TSchema>(def: SinkDefinition<S>): SinkDefinition<S> {
  return def;
}

/** Helpers for sinks: `return retryable('upstream 503', { status: 503 })`. */
export const ok = (): SendOutcome => ({ ok: true });
export const retryable = (error: string, extra: { status?: number; retryAfterMs?: number } = {}): SendOutcome => ({
  ok: false,
  retryable: true,
  error,
  ...extra,
});
export const permanent = (error: string, extra: { status?: number } = {}): SendOutcome => ({
  ok: false,
  retryable: false,
  error,
  ...extra,
});
