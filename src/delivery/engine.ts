// The hand-off behind the 200: journal every accepted event, route it, feed the lanes (from disk when they fall behind), record what finished.
import type { Metrics } from '../admin/metrics.ts';
import type { Config } from '../config/schema.ts';
import { HandoffRefused, type EventHandoff, type EventRecord, type IncomingEvent } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { LaneSpec, RoutingTable } from '../pipelines/table.ts';
import type { DeadLetter, DeadLetterStore } from '../dead-letters/store.ts';
import { matchErrorRecord, quarantinedRecord, removedLaneRecord } from '../dead-letters/records.ts';
import { journalDir } from '../journal/layout.ts';
import { splitLaneKey } from '../pipelines/lane-key.ts';
import { Journal } from '../journal/journal.ts';
import { EventReader } from '../journal/event-reader.ts';
import { LaneFeed, READ_BATCH, type EngineLane, type FeedSource } from './lane-feed.ts';
import { OwedIndex } from '../journal/owed-index.ts';
import { owedLanes, replayTarget } from './owed-lanes.ts';

export type SettleResult = 'delivered' | 'dead_lettered';

export interface EngineDeps {
  storage: Config['storage'];
  /** The current routing table (swapped on reload). */
  table: () => RoutingTable;
  createLane: (spec: LaneSpec, onSettled: (e: EventRecord, r: SettleResult) => void) => EngineLane;
  deadLetters: Pick<DeadLetterStore, 'append'>;
  metrics: Metrics;
  logger: Logger;
  /**
   * Apply a changed spec to a running lane in place (e.g. `lane.update(spec, newSink, payload)`). Without it a changed
   * lane is drained and recreated, and what it abandoned is read back from the journal.
   */
  updateLane?(lane: EngineLane, spec: LaneSpec): void;
  /** How long a lane that was removed or changed by a reload may finish in-flight sends. Default 5000 ms. */
  reloadGraceMs?: number;
}

interface Routable {
  rec: EventRecord;
  pinned?: string | undefined;
  durable?: Promise<void>;
}

/** Events routed at once. */
const ROUTE_BATCH = 1024;

/**
 * The delivery engine: ingress hands events to `accept`, which resolves once they are durable.
 * @example
 * const engine = await DeliveryEngine.open({ storage: config.storage, table: () => router.table, createLane, deadLetters, metrics, logger });
 * engine.start();
 * await engine.accept({ receivedAt: Date.now(), eventName: 'emailSend', raw, body }); // durable: answer 200
 * await engine.shutdown(config.shutdown.graceMs);
 */
export class DeliveryEngine implements EventHandoff {
  private readonly lanes = new Map<string, LaneFeed>();
  private readonly routeQueue: Routable[] = [];
  private readonly pendingDone = new Map<string, number[]>();
  private readonly retiring = new Set<string>();
  private readonly retireAgain = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  private started = false;
  private resumed = false;
  private stopping = false;
  private routing: Promise<void> | undefined;
  private deleting = false;
  private deleteAgain = false;
  private doneScheduled = false;
  /** Highest id whose routing has been applied to the index: refills never read past it. */
  private appliedHead = 0;
  private readonly source: FeedSource;
  private readonly reader: EventReader;

  private constructor(
    private readonly deps: EngineDeps,
    private readonly journal: Journal,
    private readonly index: OwedIndex,
  ) {
    journal.onSealed = () => this.deleteFinished();
    this.reader = new EventReader({
      locate: (id) => index.location(id),
      readEvents: (locs) => journal.readEvents(locs),
      onError: (id, err) =>
        deps.logger.error({ err, eventId: id }, 'journal: an owed event cannot be read back; it is given up'),
    });
    this.source = {
      index,
      head: () => this.appliedHead,
      active: () => this.resumed && !this.stopping,
      read: async (id) => (await this.readRecord(id))?.rec,
      giveUp: (key, id) => this.settle(key, id),
    };
  }

  /** Open (and recover) the journal under `<storage.dir>/journal`. Nothing is delivered until `start()`. */
  static async open(deps: EngineDeps): Promise<DeliveryEngine> {
    const index = new OwedIndex();
    const journal = await Journal.open(
      {
        dir: journalDir(deps.storage.dir),
        fsync: deps.storage.fsync,
        segmentBytes: deps.storage.segmentBytes,
        metrics: deps.metrics,
        logger: deps.logger,
      },
      (r) => {
        if (r.type === 'event') index.addEvent(r.id, r);
        else if (r.type === 'routed') for (const e of r.entries) index.setRouted(e.id, e.lanes);
        else for (const id of r.ids) index.finish(id, r.lane);
      },
    );
    const engine = new DeliveryEngine(deps, journal, index);
    engine.appliedHead = journal.nextId - 1;
    deps.metrics.journalPending.set(index.pendingEvents);
    if (index.pendingEvents > 0)
      deps.logger.info(
        { pendingEvents: index.pendingEvents, journalBytes: journal.bytes },
        'journal: recovered unfinished events',
      );
    engine.deleteFinished();
    return engine;
  }

  /** Create the lanes and resume every owed delivery, before any event accepted from now on. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.track(this.resume());
  }

  private async resume(): Promise<void> {
    const recoveredHead = this.appliedHead;
    // Events journaled but never routed (the crash came first): route them now, with the current table.
    for (let from = 0; !this.stopping;) {
      const ids = this.index.unroutedIds(from, READ_BATCH);
      if (ids.length === 0) break;
      const read = await Promise.all(ids.map((id) => this.readRecord(id)));
      // An unreadable event (logged by readRecord) owes nothing: it must not hold its segment forever.
      ids.forEach((id, i) => read[i] === undefined && this.index.setRouted(id, []));
      await this.routeBatch(
        read.filter((x): x is Routable => x !== undefined),
        false,
      );
      from = ids.at(-1)! + 1;
    }
    this.appliedHead = Math.max(this.appliedHead, recoveredHead);
    // Every lane starts spilled at the oldest event, so recovered work goes out before new work.
    for (const spec of this.deps.table().lanes.values()) this.addLane(spec, true);
    for (const key of this.index.owingLanes()) if (!this.lanes.has(key)) this.retire(key);
    this.resumed = true;
    for (const feed of this.lanes.values()) void feed.refill();
    this.pumpRoutes();
  }

  /** Journal an event; resolves when it is durable. Quarantined events go to the dead-letter queue instead. */
  async accept(event: IncomingEvent): Promise<void> {
    if (this.stopping) throw new HandoffRefused('shutting_down', 'hookroute is shutting down', 5);
    if (event.invalid && event.invalid.length > 0) {
      try {
        await this.deadLetter(quarantinedRecord(event, this.journal.reserveId()));
      } catch (err) {
        this.deps.logger.error({ err }, 'delivery: could not store a quarantined event');
        throw new HandoffRefused('storage_error', 'the dead-letter queue could not store the event', 5);
      }
      return;
    }
    this.checkQuota();
    const { durable } = this.journalEvent(event, undefined);
    try {
      await durable;
    } catch {
      throw new HandoffRefused('storage_error', 'the journal could not write the event', 5);
    }
    this.pumpRoutes();
  }

  /**
   * Re-journal dead letters, durably: each is owed to exactly its (pipeline, sink) lane; a match error goes through its
   * pipeline again; quarantined ones are routed normally.
   */
  async replay(records: DeadLetter[]): Promise<void> {
    if (this.stopping) throw new HandoffRefused('shutting_down', 'hookroute is shutting down', 5);
    this.checkQuota();
    const durables: Promise<void>[] = [];
    for (const r of records) {
      const pinned = replayTarget(r);
      const raw = Buffer.from(JSON.stringify(r.event));
      durables.push(
        this.journalEvent({ receivedAt: r.receivedAt, eventName: r.eventName, raw, body: r.event }, pinned).durable,
      );
    }
    await Promise.all(durables);
    this.pumpRoutes();
  }

  private checkQuota(): void {
    if (this.journal.bytes >= this.deps.storage.maxDiskBytes) {
      throw new HandoffRefused(
        'storage_full',
        `the journal holds ${this.journal.bytes} bytes, at its limit (storage.maxDiskBytes); retry when the backlog drains`,
        5,
      );
    }
  }

  private journalEvent(event: IncomingEvent, pinned: string | undefined): { durable: Promise<void> } {
    const { id, location, durable } = this.journal.appendEvent({
      receivedAt: event.receivedAt,
      eventName: event.eventName,
      raw: event.raw,
      pinnedLane: pinned,
    });
    this.index.addEvent(id, location);
    this.deps.metrics.journalPending.set(this.index.pendingEvents);
    const rec: EventRecord = {
      receivedAt: event.receivedAt,
      eventName: event.eventName,
      raw: event.raw,
      body: event.body,
      id,
    };
    this.routeQueue.push({ rec, pinned, durable });
    return { durable };
  }

  /** Route committed events in arrival order, one batch at a time. */
  private pumpRoutes(): void {
    if (this.routing || !this.resumed || this.routeQueue.length === 0) return;
    this.routing = (async () => {
      while (this.routeQueue.length > 0) {
        const batch = this.routeQueue.splice(0, ROUTE_BATCH);
        const written = await Promise.allSettled(batch.map((b) => b.durable));
        await this.routeBatch(
          batch.filter((_, i) => written[i]!.status === 'fulfilled'),
          true,
        );
      }
    })()
      .catch((err) => this.deps.logger.error({ err }, 'delivery: routing failed'))
      .finally(() => {
        this.routing = undefined;
        if (!this.stopping) this.pumpRoutes();
      });
  }

  private async routeBatch(items: Routable[], offer: boolean): Promise<void> {
    if (items.length === 0) return;
    const table = this.deps.table();
    const decisions = await Promise.all(items.map((it) => owedLanes(table, it.rec, it.pinned)));
    // Match errors reach the dead-letter queue before ROUTED says the event is handled.
    await Promise.all(
      items.flatMap((it, i) =>
        decisions[i]!.failures.map((f) =>
          this.deadLetter(matchErrorRecord(it.rec, f.pipeline, f.error), {
            pipeline: f.pipeline,
            stage: 'match',
          }).catch((err) =>
            this.deps.logger.error({ err, pipeline: f.pipeline }, 'delivery: could not dead-letter a match error'),
          ),
        ),
      ),
    );
    const entries = items.map((it, i) => ({ id: it.rec.id, lanes: decisions[i]!.lanes }));
    for (let i = 0; i < items.length; i++) {
      const d = decisions[i]!;
      if (d.unmatched && d.lanes.length === 0) this.deps.metrics.eventsUnmatched.inc();
      this.index.setRouted(items[i]!.rec.id, d.lanes);
      this.appliedHead = Math.max(this.appliedHead, items[i]!.rec.id);
    }
    this.journal
      .appendRouted(entries)
      .catch((err) => this.deps.logger.error({ err }, 'journal: could not write routing'));
    if (offer)
      for (let i = 0; i < items.length; i++) for (const key of decisions[i]!.lanes) this.offer(key, items[i]!.rec);
    this.updateGauges(new Set(decisions.flatMap((d) => d.lanes)));
    this.deleteFinished();
  }

  private offer(key: string, rec: EventRecord): void {
    const feed = this.lanes.get(key);
    // No lane yet but the table has it: tableChanged() is about to add it, and it reads its backlog from disk.
    if (!feed) return this.deps.table().lanes.has(key) ? undefined : this.retire(key);
    feed.offer(rec);
  }

  private addLane(spec: LaneSpec, spilled: boolean): LaneFeed {
    const feed = new LaneFeed(spec, this.newLane(spec), this.source, { spilled, cursor: this.index.firstId ?? 0 });
    this.watchRoom(feed);
    this.lanes.set(spec.key, feed);
    return feed;
  }

  private newLane(spec: LaneSpec): EngineLane {
    return this.deps.createLane(spec, (e) => this.settle(spec.key, e.id));
  }

  /** A lane that made room pulls its backlog from disk (a replaced lane's late calls are ignored). */
  private watchRoom(feed: LaneFeed): void {
    const lane = feed.lane;
    lane.onRoom(() => {
      if (feed.lane === lane) void feed.refill();
    });
  }

  /** Store a dead letter the engine itself produces, and count it (and the pipeline error behind it, if any). */
  private async deadLetter(rec: DeadLetter, error?: { pipeline: string; stage: string }): Promise<void> {
    await this.deps.deadLetters.append(rec);
    this.deps.metrics.deadLetters.inc({ reason: rec.reason });
    if (error) this.deps.metrics.pipelineErrors.inc(error);
  }

  /** An event read back from the journal; undefined (logged) when it cannot be read. */
  private readRecord(id: number): Promise<Routable | undefined> {
    return this.reader.read(id);
  }

  /** A lane finished one delivery (delivered, or durably dead-lettered). */
  private settle(key: string, id: number): void {
    if (!this.index.finish(id, key)) return; // already finished (a duplicate after a lane was replaced)
    let ids = this.pendingDone.get(key);
    if (!ids) this.pendingDone.set(key, (ids = []));
    ids.push(id);
    if (!this.doneScheduled) {
      this.doneScheduled = true;
      setImmediate(() => this.flushDone());
    }
  }

  private flushDone(): void {
    this.doneScheduled = false;
    for (const [key, ids] of this.pendingDone)
      this.journal
        .appendDone(key, ids)
        .catch((err) => this.deps.logger.error({ err }, 'journal: could not record finished deliveries'));
    this.updateGauges(new Set(this.pendingDone.keys()));
    this.pendingDone.clear();
    this.deleteFinished();
  }

  private updateGauges(keys: Iterable<string>): void {
    this.deps.metrics.journalPending.set(this.index.pendingEvents);
    for (const key of keys) this.deps.metrics.backlog.set(splitLaneKey(key), this.index.owedBy(key));
  }

  /** Delete finished segments strictly oldest-first; when everything is finished, start a fresh segment so the old one can go. */
  private deleteFinished(): void {
    if (this.deleting) {
      this.deleteAgain = true;
      return;
    }
    this.deleting = true;
    this.track(
      (async () => {
        do {
          this.deleteAgain = false;
          for (const seg of this.journal.sealedSegments()) {
            if (!this.index.isFinished(seg)) break;
            await this.journal.deleteSegment(seg);
            this.index.dropSegment(seg);
          }
          const { segmentBytes, maxDiskBytes } = this.deps.storage;
          const threshold = Math.min(1 << 20, segmentBytes / 2, maxDiskBytes / 4);
          if (!this.stopping && this.index.pendingEvents === 0 && this.journal.activeBytes >= threshold)
            this.journal.roll();
        } while (this.deleteAgain);
      })()
        .catch((err) => this.deps.logger.error({ err }, 'journal: could not delete a finished segment'))
        .finally(() => (this.deleting = false)),
    );
  }

  /** Apply a reloaded table: new lanes start, changed ones are replaced, removed ones dead-letter what they still owe. */
  tableChanged(): void {
    if (!this.resumed) return; // resume() reads the table when it runs
    const table = this.deps.table();
    for (const spec of table.lanes.values()) {
      const st = this.lanes.get(spec.key);
      if (!st) void this.addLane(spec, this.index.owedBy(spec.key) > 0).refill();
      else if (st.spec.fingerprint !== spec.fingerprint) {
        if (this.deps.updateLane && !st.closed) {
          this.deps.updateLane(st.lane, spec);
          st.spec = spec;
        } else this.track(this.replace(st, spec));
      }
    }
    for (const [key, st] of this.lanes) {
      if (table.lanes.has(key)) continue;
      this.lanes.delete(key);
      st.closed = true;
      this.track(this.closeLane(st.lane, this.deps.reloadGraceMs ?? 5000).then(() => this.retire(key)));
    }
  }

  private async replace(st: LaneFeed, spec: LaneSpec): Promise<void> {
    st.closed = true;
    st.spilled = true;
    await this.closeLane(st.lane, this.deps.reloadGraceMs ?? 5000);
    if (this.stopping || this.lanes.get(st.key) !== st) return;
    st.lane = this.newLane(spec);
    st.spec = spec;
    this.watchRoom(st);
    // What the old lane abandoned is still owed: read it back from the oldest event on.
    st.closed = false;
    st.cursor = this.index.firstId ?? 0;
    await st.refill();
  }

  private async closeLane(lane: EngineLane, graceMs: number): Promise<void> {
    try {
      await lane.drain(graceMs);
      await lane.close();
    } catch (err) {
      this.deps.logger.error({ err }, 'delivery: closing a lane failed');
    }
  }

  /** Dead-letter every delivery still owed to a lane the config no longer has ('pipeline_removed' / 'sink_removed'). */
  private retire(key: string): void {
    if (this.retiring.has(key)) {
      this.retireAgain.add(key); // owed ids may have been added behind the running sweep
      return;
    }
    this.retiring.add(key);
    const run = (async () => {
      // Stop as soon as the key is back (a reload re-added it): the new lane delivers what is owed.
      for (let from = 0; !this.stopping && !this.lanes.has(key) && !this.deps.table().lanes.has(key);) {
        const ids = this.index.owedIds(key, from, this.appliedHead, READ_BATCH);
        if (ids.length === 0) break;
        const recs = await Promise.all(ids.map((id) => this.readRecord(id)));
        await Promise.all(
          recs.map(async (r, i) => {
            if (r) await this.deadLetter(removedLaneRecord(r.rec, key, this.deps.table()));
            this.settle(key, ids[i]!);
          }),
        );
        from = ids.at(-1)! + 1;
      }
    })()
      .catch((err) =>
        this.deps.logger.error({ err, lane: key }, 'delivery: could not dead-letter the backlog of a removed lane'),
      )
      .finally(() => {
        this.retiring.delete(key);
        if (this.retireAgain.delete(key) && !this.stopping) this.retire(key);
      });
    this.track(run);
  }

  /** Remember background work so shutdown can wait for it; its errors are logged, never unhandled. */
  private track(p: Promise<unknown>): void {
    const q: Promise<unknown> = p
      .catch((err) => this.deps.logger.error({ err }, 'delivery: background task failed'))
      .finally(() => this.background.delete(q));
    this.background.add(q);
  }

  /** True while accept() can store events: the journal works and is under `storage.maxDiskBytes` (readiness). */
  writable(): boolean {
    return this.journal.healthy && this.journal.bytes < this.deps.storage.maxDiskBytes;
  }

  stats(): { pendingEvents: number; journalBytes: number; lanes: Record<string, { owed: number; inMemory: number }> } {
    const lanes: Record<string, { owed: number; inMemory: number }> = {};
    for (const key of new Set([...this.lanes.keys(), ...this.index.owingLanes()])) {
      const st = this.lanes.get(key);
      lanes[key] = { owed: this.index.owedBy(key), inMemory: st && !st.closed ? st.lane.size : 0 };
    }
    return { pendingEvents: this.index.pendingEvents, journalBytes: this.journal.bytes, lanes };
  }

  /** Refuse new events, let lanes deliver for `graceMs`, record what finished, fsync and close. The rest is owed at the next start. */
  async shutdown(graceMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.routing;
    await this.settleBackground();
    await Promise.all([...this.lanes.values()].map((st) => this.closeLane(st.lane, graceMs)));
    this.flushDone();
    await this.settleBackground();
    await this.journal.close();
  }

  private async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }
}
