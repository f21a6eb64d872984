// The append-only segment log behind the durable 200: group-committed writes, a checksummed recovery scan, oldest-first deletion.
import { mkdir, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metrics } from '../admin/metrics.ts';
import type { Logger } from '../log.ts';
import {
  decodeDone,
  decodeEvent,
  decodeRouted,
  decodeSegmentStart,
  encodeDone,
  encodeEvent,
  encodeRouted,
  encodeSegmentStart,
  eventId,
  eventPinnedLane,
  frame,
  readFrame,
  RecordType,
  type EventFields,
  type RoutedEntry,
} from './format.ts';
import { readSpans } from './read-spans.ts';
import { scanFrames } from './frame-scan.ts';
import type { FsyncMode } from '../config/schema.ts';
import { nodeJournalFs, type JournalFile, type JournalFs } from './journal-fs.ts';

export interface JournalOptions {
  /** The journal folder itself (`<storage.dir>/journal`). */
  dir: string;
  fsync: FsyncMode;
  segmentBytes: number;
  metrics: Metrics;
  logger: Logger;
  /** Test seam: the calls that write files (default: node:fs/promises). */
  fs?: JournalFs;
}

/** Where one EVENT frame lives. */
export interface EventLocation {
  segment: number;
  offset: number;
  size: number;
}

/** What the recovery scan reports, in log order. */
export type ScannedRecord =
  | ({ type: 'event'; id: number; pinnedLane: string | undefined } & EventLocation)
  | { type: 'routed'; entries: RoutedEntry[] }
  | { type: 'done'; lane: string; ids: number[] };

type WriteItem =
  | { kind: 'frame'; buf: Buffer; sync: boolean; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'roll'; segment: number; header: Buffer }
  | { kind: 'sync'; resolve: () => void; reject: (e: Error) => void };

const SEGMENT_RE = /^(\d{8})\.log$/;
const segmentName = (n: number) => `${String(n).padStart(8, '0')}.log`;

/**
 * The journal. `append*` return at once with the record's place; their promise resolves when it is written
 * (and, for events, fsynced according to `fsync`).
 * @example
 * const journal = await Journal.open({ dir, fsync: 'batch', segmentBytes: 64 << 20, metrics, logger }, (rec) => index.apply(rec));
 * const { id, durable } = journal.appendEvent({ receivedAt: Date.now(), eventName: 'emailSend', raw });
 * await durable; // now it is safe to answer 200
 */
export class Journal {
  private readonly queue: WriteItem[] = [];
  private writing = false;
  /** The write that failed last; cleared by the probe that finds writes working again. */
  private failed: Error | undefined;
  private writeHandle: JournalFile | undefined;
  private writeSegment = 0;
  private writePos = 0;
  /** End of the last batch that was written in full: a failed batch is cut back to here. */
  private durablePos = 0;
  private probeTimer: NodeJS.Timeout | undefined;
  private probeDelayMs = PROBE_FIRST_MS;
  private closing = false;
  private readonly fs: JournalFs;
  private readonly readHandles = new Map<number, Promise<FileHandle>>();
  /** Bytes per segment file, the active one counting what is queued. */
  private readonly sizes = new Map<number, number>();
  private readonly sealed = new Set<number>();
  private totalBytes = 0;
  private active = 0;
  private id = 1;
  private idle: (() => void)[] = [];
  /** Called after a segment was closed for writing (it may now be deleted once finished). */
  onSealed: (segment: number) => void = () => {};

  private constructor(private readonly opts: JournalOptions) {
    // Frame offsets are kept as u32: keep every segment well below 4 GiB.
    this.opts = { ...opts, segmentBytes: Math.min(opts.segmentBytes, MAX_SEGMENT_BYTES) };
    this.fs = opts.fs ?? nodeJournalFs;
  }

  /** Open (or create) the journal, calling `visit` for every intact record, then start a fresh segment for appends. */
  static async open(opts: JournalOptions, visit: (rec: ScannedRecord) => void): Promise<Journal> {
    const j = new Journal(opts);
    await mkdir(opts.dir, { recursive: true });
    const segments = (await readdir(opts.dir))
      .map((f) => SEGMENT_RE.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (let i = 0; i < segments.length; i++) await j.scan(segments[i]!, i === segments.length - 1, visit);
    const last = segments.at(-1) ?? 0;
    j.active = last;
    j.writeSegment = last;
    j.roll();
    await j.whenIdle();
    if (j.failed) {
      j.stopProbing();
      throw j.failed;
    }
    return j;
  }

  private async scan(segment: number, newest: boolean, visit: (rec: ScannedRecord) => void): Promise<void> {
    const file = join(this.opts.dir, segmentName(segment));
    const fileBytes = (await stat(file)).size;
    let pos = 0;
    for await (const f of scanFrames(file, fileBytes)) {
      if (f.kind === 'corrupt') {
        // Only the damaged bytes are lost: the scan resumed at the next intact frame.
        this.opts.metrics.journalCorruptions.inc();
        this.opts.logger.error(
          { segment: file, offset: f.from, bytesSkipped: f.to - f.from },
          'journal: corrupt record skipped; the intact records after it are kept',
        );
        pos = f.to;
        continue;
      }
      if (f.type === RecordType.event) {
        const id = eventId(f.payload);
        this.id = Math.max(this.id, id + 1);
        visit({ type: 'event', id, pinnedLane: eventPinnedLane(f.payload), segment, offset: pos, size: f.size });
      } else if (f.type === RecordType.routed) visit({ type: 'routed', entries: decodeRouted(f.payload) });
      else if (f.type === RecordType.done) visit({ type: 'done', ...decodeDone(f.payload) });
      else this.id = Math.max(this.id, decodeSegmentStart(f.payload));
      pos += f.size;
    }
    let size = fileBytes;
    if (pos < fileBytes) {
      const lost = fileBytes - pos;
      this.opts.metrics.journalCorruptions.inc();
      if (newest) {
        // A torn write from a crash or power cut: everything before it is intact and acknowledged, the rest never was.
        await this.fs.truncate(file, pos);
        size = pos;
        this.opts.logger.warn({ segment: file, offset: pos, bytesCut: lost }, 'journal: torn or corrupt tail cut off');
      } else {
        this.opts.logger.error(
          { segment: file, offset: pos, bytesSkipped: lost },
          'journal: corrupt end of an older segment skipped; the records before it are kept',
        );
      }
    }
    this.sizes.set(segment, size);
    this.sealed.add(segment);
    this.totalBytes += size;
    this.opts.metrics.journalBytes.set(this.totalBytes);
  }

  /** False while writes fail: appends are refused until a probe (every 0.1 s, backing off to 2 s) writes again. */
  get healthy(): boolean {
    return this.failed === undefined;
  }

  /** The id the next event will get. */
  get nextId(): number {
    return this.id;
  }

  /** Take an id without journaling anything (quarantined events, which live in the dead-letter queue instead). */
  reserveId(): number {
    return this.id++;
  }

  /** Bytes of all segment files, including writes still queued. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The segment appends currently go to. */
  get activeSegment(): number {
    return this.active;
  }

  /** Segments that are closed for writing, oldest first. */
  sealedSegments(): number[] {
    return [...this.sealed].sort((a, b) => a - b);
  }

  /** Journal an event; `durable` resolves once it is on disk as `fsync` asks. */
  appendEvent(e: Omit<EventFields, 'id'>): { id: number; location: EventLocation; durable: Promise<void> } {
    const id = this.id++;
    const buf = frame(RecordType.event, encodeEvent({ ...e, id }));
    const { segment, offset, done } = this.enqueue(buf, true);
    return { id, location: { segment, offset, size: buf.length }, durable: done };
  }

  /** Journal which lanes owe each event. No fsync of its own: a lost ROUTED only means routing again at recovery. */
  appendRouted(entries: RoutedEntry[]): Promise<void> {
    return this.enqueue(frame(RecordType.routed, encodeRouted(entries)), false).done;
  }

  /** Journal finished deliveries of one lane. No fsync of its own: a lost DONE only means a duplicate delivery. */
  appendDone(lane: string, ids: number[]): Promise<void> {
    return this.enqueue(frame(RecordType.done, encodeDone(lane, ids)), false).done;
  }

  /** Resolve once everything queued so far is written and fsynced (unless `fsync: off`). */
  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.queue.push({ kind: 'sync', resolve, reject });
      void this.run();
    });
  }

  /** Start a new segment for the following appends (the current one becomes deletable once finished). */
  roll(): void {
    if (this.failed) return; // the probe that ends the failure starts a fresh segment anyway
    const segment = this.active + 1;
    const header = frame(RecordType.segmentStart, encodeSegmentStart(this.id));
    this.active = segment;
    this.sizes.set(segment, header.length);
    this.totalBytes += header.length;
    this.queue.push({ kind: 'roll', segment, header });
    void this.run();
  }

  /** Bytes written or queued to the active segment. */
  get activeBytes(): number {
    return this.sizes.get(this.active) ?? 0;
  }

  private enqueue(buf: Buffer, sync: boolean): { segment: number; offset: number; done: Promise<void> } {
    if (this.failed) return { segment: this.active, offset: 0, done: Promise.reject(this.failed) };
    const size = this.sizes.get(this.active) ?? 0;
    if (size + buf.length > this.opts.segmentBytes && size > FRAME_OVERHEAD_OF_HEADER) this.roll();
    const segment = this.active;
    const offset = this.sizes.get(segment) ?? 0;
    this.sizes.set(segment, offset + buf.length);
    this.totalBytes += buf.length;
    const done = new Promise<void>((resolve, reject) => this.queue.push({ kind: 'frame', buf, sync, resolve, reject }));
    void this.run();
    return { segment, offset, done };
  }

  /** The writer loop: everything queued while the previous write+fsync ran becomes the next batch (group commit). */
  private async run(): Promise<void> {
    if (this.writing) return;
    this.writing = true;
    try {
      // Let the rest of this event-loop turn append too, so an idle journal does not fsync a batch of one and
      // make everything that arrives a microtask later wait for the next fsync.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.queue.length > 0) {
        const batch = this.opts.fsync === 'always' ? this.takeOneSync() : this.queue.splice(0);
        try {
          await this.writeBatch(batch);
          this.durablePos = this.writePos;
          this.opts.metrics.journalBytes.set(this.totalBytes);
          for (const item of batch) if (item.kind !== 'roll') item.resolve();
        } catch (err) {
          this.failBatch(batch, err as Error);
        }
      }
    } finally {
      this.writing = false;
      for (const cb of this.idle.splice(0)) cb();
    }
  }

  /** `fsync: always`: items up to and including the next one that needs its own fsync. */
  private takeOneSync(): WriteItem[] {
    const i = this.queue.findIndex((it) => it.kind === 'sync' || (it.kind === 'frame' && it.sync));
    return this.queue.splice(0, i < 0 ? this.queue.length : i + 1);
  }

  private async writeBatch(batch: WriteItem[]): Promise<void> {
    let pending: Buffer[] = [];
    let needSync = false;
    for (const item of batch) {
      if (item.kind === 'frame') {
        pending.push(item.buf);
        needSync ||= item.sync;
      } else if (item.kind === 'sync') needSync = true;
      else {
        await this.flush(pending);
        pending = [];
        await this.openSegment(item.segment, item.header);
      }
    }
    await this.flush(pending);
    if (needSync && this.opts.fsync !== 'off' && this.writeHandle) {
      await this.writeHandle.datasync();
      this.opts.metrics.journalFsyncs.inc();
    }
  }

  /** A write or fsync failed: refuse the batch and all queued behind it, then probe until writes work again. */
  private failBatch(batch: WriteItem[], err: Error): void {
    if (!this.failed)
      this.opts.logger.error({ err }, 'journal: write failed; refusing new events until a write succeeds again');
    this.failed = err;
    this.opts.metrics.journalWriteFailures.inc();
    for (const item of [...batch, ...this.queue.splice(0)]) if (item.kind !== 'roll') item.reject(err);
    this.forgetRefused();
    this.scheduleProbe();
  }

  /** Sizes as they are on disk: segments not yet sealed had counted the bytes of frames that were just refused. */
  private forgetRefused(): void {
    for (const segment of [...this.sizes.keys()]) if (!this.sealed.has(segment)) this.sizes.delete(segment);
    if (this.writeHandle) this.sizes.set(this.writeSegment, this.durablePos);
    this.active = Math.max(this.active, this.writeSegment);
    this.totalBytes = 0;
    for (const size of this.sizes.values()) this.totalBytes += size;
    this.opts.metrics.journalBytes.set(this.totalBytes);
  }

  private scheduleProbe(): void {
    if (this.probeTimer || this.closing) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.probe();
    }, this.probeDelayMs);
    this.probeTimer.unref();
    this.probeDelayMs = Math.min(this.probeDelayMs * 2, PROBE_MAX_MS);
  }

  private stopProbing(): void {
    this.closing = true;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  /**
   * Recovery without a restart: seal the segment the failed batch wrote into (cut back to its last full batch, so no
   * refused frame comes back at the next start) and write a fresh segment. Success means writes work again.
   */
  private async probe(): Promise<void> {
    if (!this.failed || this.closing) return;
    if (this.writing) return this.scheduleProbe();
    this.writing = true;
    try {
      await this.sealAfterFailure();
      const segment = this.active + 1;
      const header = frame(RecordType.segmentStart, encodeSegmentStart(this.id));
      await this.openSegment(segment, header);
      this.active = segment;
      this.sizes.set(segment, header.length);
      this.totalBytes += header.length;
      this.opts.metrics.journalBytes.set(this.totalBytes);
      this.failed = undefined;
      this.probeDelayMs = PROBE_FIRST_MS;
      this.opts.logger.info({ segment }, 'journal: writes succeed again; accepting events');
    } catch (err) {
      this.failed = err as Error;
      this.opts.metrics.journalWriteFailures.inc();
      this.forgetRefused();
      this.scheduleProbe();
    } finally {
      this.writing = false;
      for (const cb of this.idle.splice(0)) cb();
      if (this.queue.length > 0) void this.run();
    }
  }

  /** Cut the segment a failed batch wrote into back to its last full batch, fsync, close and seal it. */
  private async sealAfterFailure(): Promise<void> {
    const h = this.writeHandle;
    if (!h) return;
    await h.truncate(this.durablePos);
    if (this.opts.fsync !== 'off') await h.datasync();
    this.writeHandle = undefined;
    await h.close().catch(() => {});
    this.sizes.set(this.writeSegment, this.durablePos);
    this.seal(this.writeSegment);
  }

  private seal(segment: number): void {
    this.sealed.add(segment);
    this.onSealed(segment);
  }

  private async flush(bufs: Buffer[]): Promise<void> {
    if (bufs.length === 0 || !this.writeHandle) return;
    let total = 0;
    for (const b of bufs) total += b.length;
    let { bytesWritten } = await this.writeHandle.writev(bufs, this.writePos);
    if (bytesWritten < total) {
      // A short writev: write the rest from one buffer until done.
      const all = Buffer.concat(bufs, total);
      while (bytesWritten < total) {
        const r = await this.writeHandle.write(all, bytesWritten, total - bytesWritten, this.writePos + bytesWritten);
        bytesWritten += r.bytesWritten;
      }
    }
    this.writePos += total;
  }

  /** Seal the current segment (durable first, so nothing in it is lost when newer segments are), then create the next. */
  private async openSegment(segment: number, header: Buffer): Promise<void> {
    const old = this.writeHandle;
    if (old) {
      if (this.opts.fsync !== 'off') await old.datasync();
      this.writeHandle = undefined;
      try {
        await old.close();
      } finally {
        this.seal(this.writeSegment);
      }
    }
    this.writeHandle = await this.fs.open(join(this.opts.dir, segmentName(segment)), 'w');
    this.writeSegment = segment;
    this.writePos = 0;
    this.durablePos = 0;
    await this.flush([header]);
    if (this.opts.fsync !== 'off') {
      await this.writeHandle.datasync();
      await syncDir(this.fs, this.opts.dir);
    }
    this.durablePos = this.writePos;
  }

  /** Read one event back (spilled backlog, recovery). */
  async readEvent(loc: EventLocation): Promise<EventFields> {
    const [r] = await this.readEvents([loc]);
    if (r instanceof Error) throw r;
    return r!;
  }

  /**
   * Read many events back with as few file reads as possible (neighbours share one read). Each result is the event or
   * the Error that kept it from being read, so one bad frame or segment costs only its own events.
   */
  async readEvents(locs: readonly EventLocation[]): Promise<(EventFields | Error)[]> {
    const out: (EventFields | Error)[] = new Array(locs.length);
    await Promise.all(
      readSpans(locs).map(async (span) => {
        try {
          const buf = Buffer.allocUnsafe(span.length);
          const { bytesRead } = await (await this.readHandle(span.segment)).read(buf, 0, span.length, span.offset);
          const got = buf.subarray(0, bytesRead);
          for (const i of span.items) {
            const loc = locs[i]!;
            const f = readFrame(got, loc.offset - span.offset);
            out[i] =
              f.ok && f.type === RecordType.event && f.size === loc.size
                ? decodeEvent(f.payload)
                : new Error(`journal: unreadable event at ${segmentName(loc.segment)}:${loc.offset}`);
          }
        } catch (err) {
          for (const i of span.items) out[i] = err as Error;
        }
      }),
    );
    return out;
  }

  private readHandle(segment: number): Promise<FileHandle> {
    let h = this.readHandles.get(segment);
    if (!h) {
      h = open(join(this.opts.dir, segmentName(segment)), 'r');
      this.readHandles.set(segment, h);
      // A failed open is not cached: the next read tries again.
      h.catch(() => this.readHandles.delete(segment));
    }
    return h;
  }

  /** Delete a sealed segment whose events are all finished. */
  async deleteSegment(segment: number): Promise<void> {
    if (!this.sealed.has(segment)) throw new Error(`journal: segment ${segment} is not sealed`);
    this.sealed.delete(segment);
    this.totalBytes -= this.sizes.get(segment) ?? 0;
    this.sizes.delete(segment);
    this.opts.metrics.journalBytes.set(this.totalBytes);
    const h = this.readHandles.get(segment);
    this.readHandles.delete(segment);
    if (h) await h.then((fh) => fh.close()).catch(() => {});
    await this.fs.unlink(join(this.opts.dir, segmentName(segment)));
  }

  private whenIdle(): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Write and fsync everything queued, then close every file. */
  async close(): Promise<void> {
    this.stopProbing();
    if (!this.failed) await this.sync().catch(() => {});
    await this.whenIdle();
    await this.writeHandle?.close().catch(() => {});
    this.writeHandle = undefined;
    for (const h of this.readHandles.values()) await h.then((fh) => fh.close()).catch(() => {});
    this.readHandles.clear();
  }
}

const MAX_SEGMENT_BYTES = 1024 ** 3;

/** First wait before a failed journal tries writing again, doubling up to the last. */
const PROBE_FIRST_MS = 100;
const PROBE_MAX_MS = 2000;

/** Size of the SEGMENT_START frame every segment begins with: a segment holding only that is empty. */
const FRAME_OVERHEAD_OF_HEADER = frame(RecordType.segmentStart, encodeSegmentStart(0)).length;

/** fsync the folder so a newly created segment file survives a power cut. */
async function syncDir(fs: JournalFs, dir: string): Promise<void> {
  const h = await fs.open(dir, 'r');
  try {
    await h.sync();
  } catch {
    // Some platforms cannot fsync a directory; the file's own fsync is the best we can do there.
  } finally {
    await h.close();
  }
}
