// The running lanes, kept in step with the routing table: a reload adds, updates, replaces and retires them.
import type { EventRecord } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { LaneSpec, RoutingTable } from '../pipelines/table.ts';
import type { DeadLetter } from '../dead-letters/store.ts';
import { removedLaneRecord } from '../dead-letters/records.ts';
import type { EventStore } from '../storage/event-store.ts';
import { LaneFeed, READ_BATCH, type EngineLane, type FeedSource } from './lane-feed.ts';

export interface LanesDeps {
  store: EventStore;
  table: () => RoutingTable;
  /** A new lane for `spec`; it reports each finished delivery to `settle`. */
  createLane: (spec: LaneSpec) => EngineLane;
  /** Apply a changed spec to a running lane in place; without it a changed lane is drained and recreated. */
  updateLane?: ((lane: EngineLane, spec: LaneSpec) => void) | undefined;
  /** What feeds read: owed ids, the routing head, read-back. */
  source: FeedSource;
  deadLetter: (rec: DeadLetter) => Promise<void>;
  settle: (key: string, id: number) => void;
  /** Keep background work for shutdown to wait on. */
  track: (work: Promise<unknown>) => void;
  stopping: () => boolean;
  /** How long a lane removed or changed by a reload may finish in-flight sends. */
  graceMs: number;
  logger: Logger;
}

/**
 * @example
 * const lanes = new Lanes({ store, table, createLane, source, deadLetter, settle, track, stopping, graceMs: 5000, logger });
 * lanes.startAll(); // every lane starts spilled, reading its backlog from the oldest owed event
 * lanes.offer('alerts/slack', event);
 * lanes.reconcile(); // after a reload
 */
export class Lanes {
  private readonly feeds = new Map<string, LaneFeed>();
  private readonly retiring = new Set<string>();
  private readonly retireAgain = new Set<string>();

  constructor(private readonly deps: LanesDeps) {}

  get(key: string): LaneFeed | undefined {
    return this.feeds.get(key);
  }

  all(): IterableIterator<LaneFeed> {
    return this.feeds.values();
  }

  keys(): IterableIterator<string> {
    return this.feeds.keys();
  }

  /** Start a lane for every lane of the table, spilled, and retire what is owed to lanes the table no longer has. */
  startAll(): void {
    for (const spec of this.deps.table().lanes.values()) this.add(spec, true);
    for (const key of this.deps.store.owed.owingLanes()) if (!this.feeds.has(key)) this.retire(key);
    for (const feed of this.feeds.values()) void feed.refill();
  }

  /** Hand a routed event to its lane (live, or left on disk when the lane is behind). */
  offer(key: string, rec: EventRecord): void {
    const feed = this.feeds.get(key);
    // No lane yet but the table has it: reconcile() is about to add it, and it reads its backlog from disk.
    if (!feed) return this.deps.table().lanes.has(key) ? undefined : this.retire(key);
    feed.offer(rec);
  }

  /** Apply a reloaded table: new lanes start, changed ones are updated or replaced, removed ones dead-letter what they owe. */
  reconcile(): void {
    const table = this.deps.table();
    const owed = this.deps.store.owed;
    for (const spec of table.lanes.values()) {
      const feed = this.feeds.get(spec.key);
      if (!feed) void this.add(spec, owed.owedBy(spec.key) > 0).refill();
      else if (feed.spec.fingerprint !== spec.fingerprint) {
        if (this.deps.updateLane && !feed.closed) {
          this.deps.updateLane(feed.lane, spec);
          feed.spec = spec;
        } else this.deps.track(this.replace(feed, spec));
      }
    }
    for (const [key, feed] of this.feeds) {
      if (table.lanes.has(key)) continue;
      this.feeds.delete(key);
      feed.closed = true;
      this.deps.track(this.close(feed.lane, this.deps.graceMs).then(() => this.retire(key)));
    }
  }

  /** Let every lane deliver for `graceMs`, then close it. */
  async closeAll(graceMs: number): Promise<void> {
    await Promise.all([...this.feeds.values()].map((feed) => this.close(feed.lane, graceMs)));
  }

  private add(spec: LaneSpec, spilled: boolean): LaneFeed {
    const cursor = this.deps.store.owed.firstId ?? 0;
    const feed = new LaneFeed(spec, this.deps.createLane(spec), this.deps.source, { spilled, cursor });
    this.watchRoom(feed);
    this.feeds.set(spec.key, feed);
    return feed;
  }

  /** A lane that made room pulls its backlog from disk (a replaced lane's late calls are ignored). */
  private watchRoom(feed: LaneFeed): void {
    const lane = feed.lane;
    lane.onRoom(() => {
      if (feed.lane === lane) void feed.refill();
    });
  }

  private async replace(feed: LaneFeed, spec: LaneSpec): Promise<void> {
    feed.closed = true;
    feed.spilled = true;
    await this.close(feed.lane, this.deps.graceMs);
    if (this.deps.stopping() || this.feeds.get(feed.key) !== feed) return;
    feed.lane = this.deps.createLane(spec);
    feed.spec = spec;
    this.watchRoom(feed);
    // What the old lane abandoned is still owed: read it back from the oldest event on.
    feed.closed = false;
    feed.cursor = this.deps.store.owed.firstId ?? 0;
    await feed.refill();
  }

  private async close(lane: EngineLane, graceMs: number): Promise<void> {
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
    const { store, table, source } = this.deps;
    const run = (async () => {
      // Stop as soon as the key is back (a reload re-added it): the new lane delivers what is owed.
      for (let from = 0; !this.deps.stopping() && !this.feeds.has(key) && !table().lanes.has(key);) {
        const ids = store.owed.owedIds(key, from, source.head(), READ_BATCH);
        if (ids.length === 0) break;
        const recs = await Promise.all(ids.map((id) => store.read(id)));
        await Promise.all(
          recs.map(async (r, i) => {
            if (r) await this.deps.deadLetter(removedLaneRecord(r.rec, key, table()));
            this.deps.settle(key, ids[i]!);
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
        if (this.retireAgain.delete(key) && !this.deps.stopping()) this.retire(key);
      });
    this.deps.track(run);
  }
}
