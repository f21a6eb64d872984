// Online dead-letter replay (the daemon runs): records leave the queue only once they are durably owed again.
import type { DeadLetter, DeadLetterFilter, DeadLetterStore } from './store.ts';

/** Where replayed records go: the delivery engine stores each, owed to its own lane, before resolving. */
export interface ReplayTarget {
  replay(records: DeadLetter[]): Promise<void>;
}

/**
 * Take the matching dead letters, hand them to `target`, and only then remove them from the queue. When the hand-over
 * fails (storage full, shutting down) they stay in the queue untouched, so a replay never loses a dead letter.
 * @example
 * await replayOnline(deadLetters, engine, { pipeline: 'alerts' }); // { replayed: 3 }
 */
export async function replayOnline(
  store: Pick<DeadLetterStore, 'take'>,
  target: ReplayTarget,
  filter: DeadLetterFilter,
): Promise<{ replayed: number }> {
  const taken = await store.take(filter);
  try {
    await target.replay(taken.records);
  } catch (err) {
    taken.release();
    throw err;
  }
  await taken.commit();
  return { replayed: taken.records.length };
}
