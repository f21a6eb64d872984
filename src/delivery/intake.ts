// Intake: what ingress and a dead-letter replay hand over becomes durable (or is refused) before anyone is told yes.
import type { Metrics } from '../admin/metrics.ts';
import type { Config } from '../config/schema.ts';
import { HandoffRefused, type IncomingEvent } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { DeadLetter } from '../dead-letters/store.ts';
import { quarantinedRecord } from '../dead-letters/records.ts';
import type { EventStore } from '../storage/event-store.ts';
import { replayTarget } from './owed-lanes.ts';
import type { RoutingPump } from './routing-pump.ts';

export interface IntakeDeps {
  store: EventStore;
  storage: Pick<Config['storage'], 'maxDiskBytes'>;
  pump: RoutingPump;
  /** Store and count a dead letter the intake produces (a quarantined event). */
  deadLetter: (rec: DeadLetter) => Promise<void>;
  /** Bytes of the dead-letter queue: the quota counts them with storage's. */
  deadLetterBytes: () => number;
  /** True once shutdown began: everything is refused. */
  stopping: () => boolean;
  metrics: Metrics;
  logger: Logger;
}

/**
 * @example
 * const intake = new Intake({ store, storage: config.storage, pump, deadLetter, stopping: () => false, metrics, logger });
 * await intake.accept(event); // durable (or dead-lettered when quarantined): answer 200
 */
export class Intake {
  constructor(private readonly deps: IntakeDeps) {}

  /** Store an event; resolves when it is durable. Quarantined events go to the dead-letter queue instead. */
  async accept(event: IncomingEvent): Promise<void> {
    this.refuseWhenStopping();
    this.checkQuota();
    if (event.invalid && event.invalid.length > 0) {
      try {
        await this.deps.deadLetter(quarantinedRecord(event, this.deps.store.reserveId()));
      } catch (err) {
        this.deps.logger.error({ err }, 'delivery: could not store a quarantined event');
        throw new HandoffRefused('storage_error', 'the dead-letter queue could not store the event', 5);
      }
      return;
    }
    const durable = this.store(event, undefined);
    try {
      await durable;
    } catch {
      this.deps.pump.pump(); // lets go of the refused event
      throw new HandoffRefused('storage_error', 'the journal could not write the event', 1);
    }
    this.deps.pump.pump();
  }

  /**
   * Store dead letters again, durably: each is owed to exactly its (pipeline, sink) lane; a match error goes through its
   * pipeline again; quarantined ones are routed normally.
   */
  async replay(records: DeadLetter[]): Promise<void> {
    this.refuseWhenStopping();
    this.checkQuota();
    const durables = records.map((r) =>
      this.store(
        { receivedAt: r.receivedAt, eventName: r.eventName, raw: Buffer.from(JSON.stringify(r.event)), body: r.event },
        replayTarget(r),
      ),
    );
    await Promise.all(durables);
    this.deps.pump.pump();
  }

  private refuseWhenStopping(): void {
    if (this.deps.stopping()) throw new HandoffRefused('shutting_down', 'hookroute is shutting down', 5);
  }

  /** Refuse (503) while storage cannot write, or while storage and dead letters together fill the quota. */
  private checkQuota(): void {
    if (!this.deps.store.healthy) throw new HandoffRefused('storage_error', 'storage cannot write at the moment', 1);
    const bytes = this.deps.store.bytes + this.deps.deadLetterBytes();
    if (bytes >= this.deps.storage.maxDiskBytes) {
      throw new HandoffRefused(
        'storage_full',
        `storage and dead letters hold ${bytes} bytes, at the limit (storage.maxDiskBytes); retry when the backlog drains`,
        5,
      );
    }
  }

  private store(event: IncomingEvent, pinned: string | undefined): Promise<void> {
    const { receivedAt, eventName, raw, body } = event;
    const { id, durable } = this.deps.store.append({ receivedAt, eventName, raw, pinnedLane: pinned });
    this.deps.metrics.journalPending.set(this.deps.store.owed.pendingEvents);
    this.deps.pump.push({ rec: { receivedAt, eventName, raw, body, id }, pinned, durable });
    return durable;
  }
}
