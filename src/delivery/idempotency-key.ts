// The Idempotency-Key of a send: derived only from what the journal keeps (event ids and receive times) and the lane,
// so it is the same on every retry and after a crash and restart, and a destination can drop duplicate deliveries.
import { createHash } from 'node:crypto';

/** What identifies one event in the journal: its id, plus its receive time so a new journal's ids do not collide. */
export interface EventIdentity {
  id: number;
  receivedAt: number;
}

/**
 * The key of a send of `events` (one, or a batch) by lane `laneKey`: SHA-256 over the lane key and the events' sorted
 * `id:receivedAt` pairs, as 32 hex digits. Order does not matter; the same set of events always gives the same key.
 * @example
 * idempotencyKey('bounces/http', [{ id: 42, receivedAt: 1764680000000 }]) // 'c1f0…' (32 hex digits)
 */
export function idempotencyKey(laneKey: string, events: readonly EventIdentity[]): string {
  const ids = events.length === 1 ? [events[0]!] : [...events].sort((a, b) => a.id - b.id);
  const h = createHash('sha256').update(laneKey).update('\n');
  for (const e of ids) h.update(`${e.id}:${e.receivedAt},`);
  return h.digest('hex').slice(0, 32);
}
