// The dedupe part of the storage seam: which keys each deduped pipeline has seen, kept as durably as the routing itself.
import type { KeyHash } from '../dedupe/seen-table.ts';

/** One first sighting of a dedupe key by a pipeline: stored with the routing decision of `eventId`. */
export interface SeenKey {
  pipeline: string;
  hash: KeyHash;
  /** The event that first carried the key (a re-route of that same event after a crash is not a duplicate). */
  eventId: number;
  /** Until when a copy is a duplicate (epoch ms): the first copy's receivedAt plus the pipeline's window. */
  expiresAt: number;
}

/**
 * Seen keys per pipeline. The driver keeps them so that a crash can neither let a duplicate through nor swallow a
 * first copy: a key is remembered in memory at once (`remember`) and made durable together with the routing decision
 * that carries it (`EventStore.routed` with `seen`), in one record. The segment journal writes them into the ROUTED
 * record and into `<storage.dir>/dedupe/` before the segment holding that record may be deleted (see
 * `journal/seen-log.ts`). A JetStream driver would keep them in a KV bucket (key `<pipeline>.<hash hex>`, value the
 * first event id, the bucket's TTL the longest window) written before the routing ack, with the same memory table in
 * front for lookups.
 * @example
 * const first = seen.firstEvent('alerts', hash, rec.receivedAt);
 * if (first === undefined || first === rec.id) seen.remember({ pipeline: 'alerts', hash, eventId: rec.id, expiresAt }, 1e6);
 */
export interface SeenKeyStore {
  /** The event that first carried `hash` in `pipeline`, if still within its window at `now`. */
  firstEvent(pipeline: string, hash: KeyHash, now: number): number | undefined;
  /** Hold a first sighting in memory now; `maxKeys` bounds that pipeline's keys (the oldest go first). */
  remember(key: SeenKey, maxKeys: number, now: number): void;
  /** Keep memory only for these pipelines (name → maxKeys); others are forgotten in memory. */
  retain(pipelines: ReadonlyMap<string, number>): void;
  /** Keys held and keys let go early (table full), per pipeline. */
  stats(pipeline: string): { keys: number; evicted: number };
}
