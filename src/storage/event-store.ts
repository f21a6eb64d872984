// The storage seam: everything the delivery engine needs from durable storage, whichever driver keeps the bytes.
import type { ReadEvent } from '../journal/event-reader.ts';
import type { SeenKey, SeenKeyStore } from './seen-keys.ts';

export type { ReadEvent, SeenKey, SeenKeyStore };

/** An accepted event as storage keeps it; `pinnedLane` routes a replayed dead letter to exactly its lane. */
export interface StoredEvent {
  receivedAt: number;
  eventName: string;
  raw: Buffer;
  pinnedLane?: string | undefined;
}

/** Which lanes an event owes a delivery to, as routing decided. */
export interface RoutedEvent {
  id: number;
  lanes: string[];
  /** Dedupe keys this event is the first copy of: durable exactly when this routing is (one record). */
  seen?: SeenKey[] | undefined;
}

/**
 * The owed deliveries, in memory: for every stored event not finished yet, the lanes that still owe it. Rebuilt from
 * storage by recovery, kept current by `routed` and `finish`. Ids grow with arrival order.
 */
export interface OwedView {
  /** Events stored and not finished by every lane that owes them (or not routed yet). */
  readonly pendingEvents: number;
  /** The oldest event still held, if any. */
  readonly firstId: number | undefined;
  owedBy(lane: string): number;
  /** Lanes that owe at least one delivery. */
  owingLanes(): string[];
  isOwed(id: number, lane: string): boolean;
  /** Up to `limit` ids in [fromId, toId] that `lane` owes, ascending. */
  owedIds(lane: string, fromId: number, toId: number, limit: number): number[];
  /** Up to `limit` ids from `fromId` on that were stored but never routed (a crash came between), ascending. */
  unroutedIds(fromId: number, limit: number): number[];
}

/**
 * A storage driver. The segment journal (`journal/segment-store.ts`) is the default; another driver (e.g. NATS
 * JetStream) implements the same calls, and ingress, pipelines and lanes do not change.
 *
 * Promises: `append(...).durable` resolves only once the event survives a crash (the 200 waits for it); `routed`
 * and `finish` may be lost in a crash (the cost is routing again, or a duplicate delivery), never the event.
 * @example
 * const store = await SegmentStore.open({ storage: config.storage, metrics, logger });
 * const { id, durable } = store.append({ receivedAt: Date.now(), eventName: 'emailSend', raw });
 * await durable;                               // answer 200
 * store.routed([{ id, lanes: ['alerts/slack'] }]);
 * store.finish('alerts/slack', id);            // delivered: the event is no longer owed by that lane
 */
export interface EventStore {
  readonly owed: OwedView;
  /**
   * Seen dedupe keys, restored at open. A driver without it dedupes in memory only (keys lost on restart; the engine
   * warns when a pipeline with `dedupe` loads).
   */
  readonly seen?: SeenKeyStore;
  /** The highest id recovered at open (0 when storage was empty). */
  readonly recoveredHead: number;
  /** Bytes held in storage, queued writes included (the quota, `storage.maxDiskBytes`, is checked against this). */
  readonly bytes: number;
  /** False while writes fail: the engine refuses events (503) until it is true again. */
  readonly healthy: boolean;
  /** An id for an event kept elsewhere (a quarantined event goes to the dead-letter queue, not to storage). */
  reserveId(): number;
  append(event: StoredEvent): { id: number; durable: Promise<void> };
  /** Record routing; lanes then owe the event. Persisted in the background (errors are logged). */
  routed(entries: RoutedEvent[]): void;
  /** One lane finished one delivery (delivered or durably dead-lettered). False when it was not owed (a duplicate). */
  finish(lane: string, id: number): boolean;
  /** Read a stored event back; undefined (logged) when it cannot be read. */
  read(id: number): Promise<ReadEvent | undefined>;
  /** Persist every `finish` so far and close. Owed deliveries stay owed for the next open. */
  close(): Promise<void>;
}
