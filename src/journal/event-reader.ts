// Reads owed events back from the journal for spilled lanes, recovery and removed lanes. Reads asked for in the same
// tick go to the journal as one batch (neighbours share a file read), and recently read events are kept for a while:
// lanes that fell behind together ask for the same events, and each is then read and parsed once, not once per lane.
import type { EventRecord } from '../events/record.ts';
import type { EventLocation } from './journal.ts';
import type { EventFields } from './format.ts';

/** An event read back, with the lane it is pinned to (replayed dead letters). */
export interface ReadEvent {
  rec: EventRecord;
  pinned?: string | undefined;
}

export interface EventReaderDeps {
  locate: (id: number) => EventLocation | undefined;
  readEvents: (locs: readonly EventLocation[]) => Promise<(EventFields | Error)[]>;
  /** Called once per event that cannot be read; the event is then reported as undefined. */
  onError: (id: number, err: unknown) => void;
  /** Events kept after they were read. A lane's refill asks for at most READ_BATCH at a time. Default 2048. */
  keep?: number;
  /** Everything kept is let go once no read came for this long, so a drained backlog holds no memory. Default 1000 ms. */
  idleMs?: number;
}

interface Waiting {
  id: number;
  resolve: (r: ReadEvent | undefined) => void;
  promise?: Promise<ReadEvent | undefined>;
}

/**
 * @example
 * const reader = new EventReader({ locate: (id) => index.location(id), readEvents: (l) => journal.readEvents(l), onError });
 * const recs = await Promise.all(ids.map((id) => reader.read(id))); // one journal batch, cached for the other lanes
 */
export class EventReader {
  private readonly recent = new Map<number, Promise<ReadEvent | undefined>>();
  private waiting: Waiting[] = [];
  private readonly keep: number;
  private reads = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: EventReaderDeps) {
    this.keep = deps.keep ?? 2048;
  }

  /** The event with this id, or undefined (reported through onError) when it cannot be read. */
  read(id: number): Promise<ReadEvent | undefined> {
    this.reads++;
    this.watchIdle();
    const known = this.recent.get(id);
    if (known) return known;
    const w: Waiting = { id, resolve: () => {} };
    const p = new Promise<ReadEvent | undefined>((resolve) => (w.resolve = resolve));
    w.promise = p;
    if (this.waiting.length === 0) queueMicrotask(() => void this.flush());
    this.waiting.push(w);
    this.recent.set(id, p);
    // Oldest first out: Map keeps insertion order.
    if (this.recent.size > this.keep) this.recent.delete(this.recent.keys().next().value!);
    return p;
  }

  /** Forget what is kept once reads stop; the timer never holds the process open. */
  private watchIdle(): void {
    if (this.idleTimer) return;
    const seen = this.reads;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.reads === seen) this.recent.clear();
      else this.watchIdle();
    }, this.deps.idleMs ?? 1000);
    this.idleTimer.unref();
  }

  private async flush(): Promise<void> {
    const batch = this.waiting;
    this.waiting = [];
    const found: Waiting[] = [];
    const locs: EventLocation[] = [];
    for (const w of batch) {
      const loc = this.deps.locate(w.id);
      if (loc) {
        found.push(w);
        locs.push(loc);
      } else this.fail(w, new Error('not in the index'));
    }
    if (locs.length === 0) return;
    let results: (EventFields | Error)[];
    try {
      // The journal reads in file order; ids arrive in that order from a refill already.
      results = await this.deps.readEvents(locs);
    } catch (err) {
      results = locs.map(() => err as Error);
    }
    for (let i = 0; i < found.length; i++) {
      const w = found[i]!;
      const f = results[i];
      if (!f || f instanceof Error) {
        this.fail(w, f ?? new Error('not read'));
        continue;
      }
      try {
        const body = JSON.parse(f.raw.toString('utf8')) as Record<string, unknown>;
        w.resolve({
          rec: { id: f.id, receivedAt: f.receivedAt, eventName: f.eventName, raw: f.raw, body },
          pinned: f.pinnedLane,
        });
      } catch (err) {
        this.fail(w, err);
      }
    }
  }

  private fail(w: Waiting, err: unknown): void {
    // Not kept: a later read may succeed (a segment that could not be opened, say).
    if (this.recent.get(w.id) === w.promise) this.recent.delete(w.id);
    this.deps.onError(w.id, err);
    w.resolve(undefined);
  }
}
