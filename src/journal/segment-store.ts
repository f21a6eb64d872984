// The segment journal as a storage driver: the log, its owed index, read-back, batched DONE records, oldest-first deletion.
import type { Metrics } from '../admin/metrics.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { EventStore, OwedView, ReadEvent, RoutedEvent, StoredEvent } from '../storage/event-store.ts';
import { MemorySeenKeys } from '../dedupe/seen-keys.ts';
import { EventReader } from './event-reader.ts';
import { Journal } from './journal.ts';
import { dedupeDir, journalDir } from './layout.ts';
import { OwedIndex } from './owed-index.ts';
import type { JournalFs } from './journal-fs.ts';
import { SeenLog } from './seen-log.ts';

export interface SegmentStoreOptions {
  storage: Pick<Config['storage'], 'dir' | 'fsync' | 'segmentBytes' | 'maxDiskBytes'>;
  metrics: Metrics;
  logger: Logger;
  /** Test seam: the journal's file writes (fault injection, crash simulation). */
  fs?: JournalFs;
  /** maxKeys per deduped pipeline, when known at open: seen keys of other pipelines are not restored into memory. */
  dedupeLimits?: ReadonlyMap<string, number>;
}

/**
 * Events in append-only segment files under `<storage.dir>/journal`, group-committed before the 200. A segment is
 * deleted once every event in it is finished by every lane that owed it; when nothing is owed, a fresh segment is
 * started so the last one can go too.
 * @example
 * const store = await SegmentStore.open({ storage: config.storage, metrics, logger });
 */
export class SegmentStore implements EventStore {
  readonly owed: OwedView;
  readonly seen: MemorySeenKeys;
  readonly recoveredHead: number;
  private readonly reader: EventReader;
  private readonly pendingDone = new Map<string, number[]>();
  private doneScheduled = false;
  private deleting: Promise<void> | undefined;
  private deleteAgain = false;
  private closing = false;

  private constructor(
    private readonly opts: SegmentStoreOptions,
    private readonly journal: Journal,
    private readonly index: OwedIndex,
    seen: MemorySeenKeys,
    private readonly seenLog: SeenLog,
  ) {
    this.owed = index;
    this.seen = seen;
    this.recoveredHead = journal.nextId - 1;
    journal.onSealed = () => this.deleteFinished();
    this.reader = new EventReader({
      locate: (id) => index.location(id),
      readEvents: (locs) => journal.readEvents(locs),
      onError: (id, err) =>
        opts.logger.error({ err, eventId: id }, 'journal: an owed event cannot be read back; it is given up'),
    });
  }

  /** Open (and recover) the journal: every intact record rebuilds the owed index; seen keys come from both logs. */
  static async open(opts: SegmentStoreOptions): Promise<SegmentStore> {
    const index = new OwedIndex();
    const seen = new MemorySeenKeys(opts.dedupeLimits);
    const now = Date.now();
    const seenLog = await SeenLog.open(
      { dir: dedupeDir(opts.storage.dir), fsync: opts.storage.fsync, logger: opts.logger },
      (key) => seen.restore(key, now),
    );
    const journal = await Journal.open(
      {
        dir: journalDir(opts.storage.dir),
        fsync: opts.storage.fsync,
        segmentBytes: opts.storage.segmentBytes,
        metrics: opts.metrics,
        logger: opts.logger,
        ...(opts.fs && { fs: opts.fs }),
      },
      (r) => {
        if (r.type === 'event') index.addEvent(r.id, r);
        else if (r.type === 'routed')
          for (const e of r.entries) {
            index.setRouted(e.id, e.lanes);
            // Keys the seen log may not have fsynced before the crash (it is synced before a segment goes).
            for (const key of e.seen ?? []) seen.restore(key, now);
          }
        else for (const id of r.ids) index.finish(id, r.lane);
      },
    );
    const store = new SegmentStore(opts, journal, index, seen, seenLog);
    if (index.pendingEvents > 0)
      opts.logger.info(
        { pendingEvents: index.pendingEvents, journalBytes: journal.bytes },
        'journal: recovered unfinished events',
      );
    store.deleteFinished();
    return store;
  }

  get bytes(): number {
    return this.journal.bytes;
  }

  get healthy(): boolean {
    return this.journal.healthy;
  }

  reserveId(): number {
    return this.journal.reserveId();
  }

  append(event: StoredEvent): { id: number; durable: Promise<void> } {
    const { id, location, durable } = this.journal.appendEvent(event);
    this.index.addEvent(id, location);
    // Refused (503): it owes nothing in this run. Had its bytes reached the disk, the next start would route it.
    durable.catch(() => this.index.setRouted(id, []));
    return { id, durable };
  }

  routed(entries: RoutedEvent[]): void {
    for (const e of entries) this.index.setRouted(e.id, e.lanes);
    this.seenLog.append(entries.flatMap((e) => e.seen ?? []));
    this.journal
      .appendRouted(entries)
      .catch((err) => this.opts.logger.error({ err }, 'journal: could not write routing'));
    this.deleteFinished();
  }

  finish(lane: string, id: number): boolean {
    if (!this.index.finish(id, lane)) return false;
    let ids = this.pendingDone.get(lane);
    if (!ids) this.pendingDone.set(lane, (ids = []));
    ids.push(id);
    if (!this.doneScheduled) {
      this.doneScheduled = true;
      setImmediate(() => this.flushDone());
    }
    return true;
  }

  read(id: number): Promise<ReadEvent | undefined> {
    return this.reader.read(id);
  }

  /** One DONE record per lane for everything finished in this tick. */
  private flushDone(): void {
    this.doneScheduled = false;
    for (const [lane, ids] of this.pendingDone)
      this.journal
        .appendDone(lane, ids)
        .catch((err) => this.opts.logger.error({ err }, 'journal: could not record finished deliveries'));
    this.pendingDone.clear();
    this.deleteFinished();
  }

  /** Delete finished segments strictly oldest-first; when everything is finished, start a fresh segment so the old one can go. */
  private deleteFinished(): void {
    if (this.deleting) {
      this.deleteAgain = true;
      return;
    }
    this.deleting = (async () => {
      do {
        this.deleteAgain = false;
        for (const seg of this.journal.sealedSegments()) {
          if (!this.index.isFinished(seg)) break;
          await this.seenLog.sync(); // the segment's ROUTED records may hold the only durable copy of seen keys
          await this.journal.deleteSegment(seg);
          this.index.dropSegment(seg);
        }
        const { segmentBytes, maxDiskBytes } = this.opts.storage;
        const threshold = Math.min(1 << 20, segmentBytes / 2, maxDiskBytes / 4);
        if (!this.closing && this.index.pendingEvents === 0 && this.journal.activeBytes >= threshold)
          this.journal.roll();
      } while (this.deleteAgain);
    })()
      .catch((err) => this.opts.logger.error({ err }, 'journal: could not delete a finished segment'))
      .finally(() => (this.deleting = undefined));
  }

  async close(): Promise<void> {
    this.closing = true; // no fresh segment while closing
    this.flushDone();
    while (this.deleting) await this.deleting;
    await this.journal.close();
    await this.seenLog.close();
  }
}
