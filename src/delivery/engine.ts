// The hand-off behind the 200, as a thin coordinator: intake stores, the pump routes, the lanes deliver, storage records what finished.
import { setMaxListeners } from 'node:events';
import type { Metrics } from '../admin/metrics.ts';
import type { Config } from '../config/schema.ts';
import type { EventHandoff, EventRecord, IncomingEvent } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { LaneSpec, RoutingTable } from '../pipelines/table.ts';
import type { DeadLetter, DeadLetterStore } from '../dead-letters/store.ts';
import { SegmentStore } from '../journal/segment-store.ts';
import { dedupeLimits } from '../pipelines/dedupe.ts';
import { splitLaneKey } from '../pipelines/lane-key.ts';
import type { EventStore } from '../storage/event-store.ts';
import { Intake } from './intake.ts';
import { READ_BATCH, type EngineLane, type FeedSource } from './lane-feed.ts';
import { Lanes } from './reconcile.ts';
import { RoutingPump } from './routing-pump.ts';
import { appendUntilStored } from '../dead-letters/durable-append.ts';

export type SettleResult = 'delivered' | 'dead_lettered';

export interface EngineDeps {
  storage: Config['storage'];
  /** The storage driver; default: the segment journal under `storage.dir`. */
  store?: EventStore;
  /** The current routing table (swapped on reload). */
  table: () => RoutingTable;
  createLane: (spec: LaneSpec, onSettled: (e: EventRecord, r: SettleResult) => void) => EngineLane;
  /** `bytes` counts against `storage.maxDiskBytes`; `healthy` false (a write failed) makes the engine not writable. */
  deadLetters: Pick<DeadLetterStore, 'append'> & Partial<Pick<DeadLetterStore, 'bytes' | 'healthy'>>;
  metrics: Metrics;
  logger: Logger;
  /**
   * Apply a changed spec to a running lane in place (e.g. `lane.update(spec, newSink, payload)`). Without it a changed
   * lane is drained and recreated, and what it abandoned is read back from storage.
   */
  updateLane?(lane: EngineLane, spec: LaneSpec): void;
  /** How long a lane that was removed or changed by a reload may finish in-flight sends. Default 5000 ms. */
  reloadGraceMs?: number;
}

export interface EngineStats {
  pendingEvents: number;
  journalBytes: number;
  lanes: Record<string, { owed: number; inMemory: number }>;
}

/**
 * The delivery engine: ingress hands events to `accept`, which resolves once they are durable.
 * @example
 * const engine = await DeliveryEngine.open({ storage: config.storage, table: () => router.table, createLane, deadLetters, metrics, logger });
 * engine.start();
 * await engine.accept({ receivedAt: Date.now(), eventName: 'emailSend', raw, body }); // durable: answer 200
 * await engine.shutdown(config.shutdown.graceMs);
 */
export class DeliveryEngine implements EventHandoff {
  private readonly background = new Set<Promise<unknown>>();
  private readonly pump: RoutingPump;
  private readonly intake: Intake;
  private readonly lanes: Lanes;
  private readonly dirtyGauges = new Set<string>();
  private gaugesScheduled = false;
  private started = false;
  private resumed = false;
  private stopping = false;
  /** Aborted at shutdown: stops dead-letter writes that keep retrying on a failing disk. */
  private readonly stopSignal = new AbortController();

  private constructor(
    private readonly deps: EngineDeps,
    private readonly store: EventStore,
  ) {
    const stopping = () => this.stopping;
    // Every dead letter retrying on a failing disk listens for shutdown on this one signal.
    setMaxListeners(0, this.stopSignal.signal);
    this.pump = new RoutingPump({
      store,
      table: deps.table,
      deadLetter: (rec, error) => this.keepDeadLetter(rec, error),
      offer: (key, rec) => this.lanes.offer(key, rec),
      routed: (keys) => this.touchGauges(keys),
      metrics: deps.metrics,
      logger: deps.logger,
    });
    this.intake = new Intake({
      store,
      storage: deps.storage,
      pump: this.pump,
      deadLetter: (rec) => this.deadLetter(rec),
      deadLetterBytes: () => deps.deadLetters.bytes ?? 0,
      stopping,
      metrics: deps.metrics,
      logger: deps.logger,
    });
    const source: FeedSource = {
      index: store.owed,
      head: () => this.pump.head,
      active: () => this.resumed && !this.stopping,
      read: async (id) => (await store.read(id))?.rec,
      giveUp: (key, id) => this.settle(key, id),
    };
    this.lanes = new Lanes({
      store,
      table: deps.table,
      createLane: (spec) => deps.createLane(spec, (e) => this.settle(spec.key, e.id)),
      updateLane: deps.updateLane?.bind(deps),
      source,
      deadLetter: (rec) => this.keepDeadLetter(rec),
      settle: (key, id) => this.settle(key, id),
      track: (work) => this.track(work),
      stopping,
      graceMs: deps.reloadGraceMs ?? 5000,
      logger: deps.logger,
    });
  }

  /** Open (and recover) storage. Nothing is delivered until `start()`. */
  static async open(deps: EngineDeps): Promise<DeliveryEngine> {
    const store =
      deps.store ??
      (await SegmentStore.open({
        storage: deps.storage,
        metrics: deps.metrics,
        logger: deps.logger,
        dedupeLimits: dedupeLimits(deps.table().pipelines),
      }));
    deps.metrics.journalPending.set(store.owed.pendingEvents);
    return new DeliveryEngine(deps, store);
  }

  /** Create the lanes and resume every owed delivery, before any event accepted from now on. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.track(this.resume());
  }

  private async resume(): Promise<void> {
    const owed = this.store.owed;
    // Events stored but never routed (the crash came first): route them now, with the current table. Only those
    // recovered: events accepted since are the pump's, and may not be written yet (read back now, they would be
    // given up as unreadable, and lost).
    const recovered = this.store.recoveredHead;
    for (let from = 0; !this.stopping;) {
      const ids = owed.unroutedIds(from, READ_BATCH).filter((id) => id <= recovered);
      if (ids.length === 0) break;
      const read = await Promise.all(ids.map((id) => this.store.read(id)));
      // An unreadable event (logged by the store) owes nothing: it must not hold storage forever.
      const unreadable = ids.filter((_, i) => read[i] === undefined).map((id) => ({ id, lanes: [] }));
      if (unreadable.length > 0) this.store.routed(unreadable);
      await this.pump.route(
        read.filter((x) => x !== undefined),
        false,
      );
      from = ids.at(-1)! + 1;
    }
    // Every lane starts spilled at the oldest event, so recovered work goes out before new work.
    this.resumed = true; // feeds refill only once resumed
    this.lanes.startAll();
    this.pump.resume();
  }

  /** Store an event; resolves when it is durable. Quarantined events go to the dead-letter queue instead. */
  accept(event: IncomingEvent): Promise<void> {
    return this.intake.accept(event);
  }

  /** Store dead letters again, each owed to its own lane (see `Intake.replay`). */
  replay(records: DeadLetter[]): Promise<void> {
    return this.intake.replay(records);
  }

  /** Apply a reloaded table: new lanes start, changed ones are replaced, removed ones dead-letter what they still owe. */
  tableChanged(): void {
    if (this.resumed) this.lanes.reconcile(); // before that, resume() reads the table when it runs
  }

  /** Store a dead letter the engine itself produces, and count it (and the pipeline error behind it, if any). */
  private async deadLetter(rec: DeadLetter, error?: { pipeline: string; stage: string }): Promise<void> {
    await this.deps.deadLetters.append(rec);
    this.deps.metrics.deadLetters.inc({ reason: rec.reason });
    if (error) this.deps.metrics.pipelineErrors.inc(error);
  }

  /**
   * A dead letter the engine produces in the background (a match error, a removed lane's backlog): retried while the
   * disk fails, so its event stays owed until it is stored; rejects when shutdown comes first (owed at the next start).
   */
  private async keepDeadLetter(rec: DeadLetter, error?: { pipeline: string; stage: string }): Promise<void> {
    const stored = await appendUntilStored(this.deps.deadLetters, rec, {
      signal: this.stopSignal.signal,
      onError: (err, tries) => {
        if (tries === 1) this.deps.logger.error({ err }, 'delivery: a dead letter cannot be written; retrying');
      },
    });
    if (!stored) throw new Error('shutting down before the dead letter was stored; it stays owed');
    this.deps.metrics.deadLetters.inc({ reason: rec.reason });
    if (error) this.deps.metrics.pipelineErrors.inc(error);
  }

  /** A lane finished one delivery (delivered, or durably dead-lettered). */
  private settle(key: string, id: number): void {
    if (this.store.finish(key, id)) this.touchGauges([key]);
  }

  /** Backlog gauges of these lanes are refreshed once per tick, however many deliveries finished. */
  private touchGauges(keys: Iterable<string>): void {
    for (const key of keys) this.dirtyGauges.add(key);
    if (this.gaugesScheduled) return;
    this.gaugesScheduled = true;
    setImmediate(() => {
      this.gaugesScheduled = false;
      this.deps.metrics.journalPending.set(this.store.owed.pendingEvents);
      for (const key of this.dirtyGauges) this.deps.metrics.backlog.set(splitLaneKey(key), this.store.owed.owedBy(key));
      this.dirtyGauges.clear();
    });
  }

  /** Remember background work so shutdown can wait for it; its errors are logged, never unhandled. */
  private track(p: Promise<unknown>): void {
    const q: Promise<unknown> = p
      .catch((err) => this.deps.logger.error({ err }, 'delivery: background task failed'))
      .finally(() => this.background.delete(q));
    this.background.add(q);
  }

  /** True while accept() can store events and dead letters can be written, under `storage.maxDiskBytes` (readiness). */
  writable(): boolean {
    const used = this.store.bytes + (this.deps.deadLetters.bytes ?? 0);
    return this.store.healthy && (this.deps.deadLetters.healthy ?? true) && used < this.deps.storage.maxDiskBytes;
  }

  stats(): EngineStats {
    const owed = this.store.owed;
    const lanes: EngineStats['lanes'] = {};
    for (const key of new Set([...this.lanes.keys(), ...owed.owingLanes()])) {
      const feed = this.lanes.get(key);
      lanes[key] = { owed: owed.owedBy(key), inMemory: feed && !feed.closed ? feed.lane.size : 0 };
    }
    return { pendingEvents: owed.pendingEvents, journalBytes: this.store.bytes, lanes };
  }

  /** A deduped pipeline's counters (see DedupeStep.stats), for /pipelines. */
  dedupeStats(pipeline: string): { deduplicated: number; keys: number; evicted: number } {
    return this.pump.dedupe.stats(pipeline);
  }

  /** Refuse new events, let lanes deliver for `graceMs`, record what finished, fsync and close. The rest is owed at the next start. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stopSignal.abort();
    await this.pump.stop();
    await this.settleBackground();
    await this.lanes.closeAll(graceMs);
    await this.settleBackground();
    await this.store.close();
  }

  private async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }
}
