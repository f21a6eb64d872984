// Feeds one lane: live events while it keeps up, its backlog read back from the journal (in order) once it fell behind.
import type { EventRecord } from '../events/record.ts';
import type { LaneSpec } from '../pipelines/table.ts';
import type { OwedView } from '../storage/event-store.ts';

/** What the engine needs from a lane (`Lane` in `lane.ts` provides it). */
export interface EngineLane {
  /** Events held in memory (queued or in flight). */
  readonly size: number;
  readonly hasRoom: boolean;
  push(event: EventRecord): void;
  /** Called when the lane has drained to half its capacity after being fuller. */
  onRoom(cb: () => void): void;
  /** Keep sending for at most `graceMs`, then abandon what is left without settling it. */
  drain(graceMs: number): Promise<void>;
  close(): void | Promise<void>;
}

/** The engine state a feed reads. */
export interface FeedSource {
  readonly index: OwedView;
  /** Highest id whose routing is in the index: a refill never reads past it. */
  head(): number;
  /** False while the engine is not started or is stopping: no refills then. */
  active(): boolean;
  /** An event read back from the journal; undefined when it cannot be read (then it is given up). */
  read(id: number): Promise<EventRecord | undefined>;
  giveUp(key: string, id: number): void;
}

/** Events read back per batch when a spilled lane makes room. */
export const READ_BATCH = 256;

/**
 * One lane plus where its backlog starts. Bounded memory: while `spilled`, nothing is held for the lane but bits in the
 * index; `refill` reads at most the lane's free capacity back at a time.
 * @example
 * const feed = new LaneFeed(spec, lane, source, { spilled: true, cursor: index.firstId ?? 0 });
 * lane.onRoom(() => void feed.refill());
 * feed.offer(event); // live, or left on disk when the lane is behind
 */
export class LaneFeed {
  /** Not taking events in memory: its backlog is read from the journal from `cursor` on. */
  spilled: boolean;
  cursor: number;
  /** Being replaced or removed: nothing more goes into `lane`. */
  closed = false;
  private refilling = false;
  private again = false;

  constructor(
    public spec: LaneSpec,
    public lane: EngineLane,
    private readonly src: FeedSource,
    start: { spilled: boolean; cursor: number },
  ) {
    this.spilled = start.spilled;
    this.cursor = start.cursor;
  }

  get key(): string {
    return this.spec.key;
  }

  /** A newly routed event this lane owes (its bit is already set in the index). */
  offer(rec: EventRecord): void {
    if (this.spilled || this.closed) return; // the refill reads it from disk, in order
    if (this.lane.hasRoom) this.lane.push(rec);
    else {
      this.spilled = true;
      this.cursor = rec.id;
    }
  }

  /** Read the backlog back into the lane until it is full again or has caught up with the head (then it goes live). */
  async refill(): Promise<void> {
    if (this.refilling) {
      this.again = true;
      return;
    }
    if (!this.spilled || this.closed || !this.src.active()) return;
    this.refilling = true;
    try {
      while (this.spilled && !this.closed && this.src.active()) {
        const lane = this.lane;
        const room = Math.min(READ_BATCH, this.spec.queue.capacity - lane.size);
        if (room <= 0 || !lane.hasRoom) break;
        const head = this.src.head();
        const ids = this.src.index.owedIds(this.key, this.cursor, head, room);
        if (ids.length === 0) {
          // Caught up, in the same tick as the check: every later event is offered live.
          this.cursor = head + 1;
          this.spilled = false;
          break;
        }
        const recs = await Promise.all(ids.map((id) => this.src.read(id)));
        if (this.closed || this.lane !== lane || !this.src.active()) break;
        for (let i = 0; i < ids.length; i++) {
          const r = recs[i];
          if (!r) this.src.giveUp(this.key, ids[i]!);
          else if (this.src.index.isOwed(r.id, this.key)) lane.push(r);
        }
        this.cursor = ids.at(-1)! + 1;
      }
    } finally {
      this.refilling = false;
      if (this.again) {
        this.again = false;
        void this.refill();
      }
    }
  }
}
