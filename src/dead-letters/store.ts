// The dead-letter queue: JSON Lines files under `<storage.dir>/dlq/`, appended with group-committed fsync, streamed to read.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ValidationIssue } from '../events/record.ts';
import type { FsyncMode } from '../config/schema.ts';

export type DeadLetterReason =
  | 'delivery_failed'
  | 'permanent_error'
  | 'transform_error'
  | 'match_error'
  | 'quarantined'
  | 'pipeline_removed'
  | 'sink_removed';

/** One event that could not be delivered (or was quarantined), with everything needed to understand and resend it. */
export interface DeadLetter {
  /** Unique and time-ordered (see `newDeadLetterId`). */
  id: string;
  reason: DeadLetterReason;
  eventId: number;
  eventName: string;
  receivedAt: number;
  /** The parsed event body. */
  event: Record<string, unknown>;
  /** Absent for quarantined events. */
  pipeline?: string;
  sink?: string;
  /** The transformed payload, when it was computed. */
  payload?: unknown;
  attempts: number;
  lastError: string;
  status?: number;
  firstAttemptAt?: number;
  lastAttemptAt?: number;
  deadAt: number;
  /** Quarantined events: their schema errors. */
  issues?: ValidationIssue[];
}

export interface DeadLetterFilter {
  pipeline?: string;
  sink?: string;
  reason?: string;
}

export interface DeadLetterGroup {
  pipeline: string | null;
  sink: string | null;
  reason: string;
  count: number;
  lastError: string;
  lastAt: number;
}

/** Records removed by `take`: they stay on disk until `commit` (so a crash loses nothing), `release` gives them back. */
export interface DeadLetterTake {
  records: DeadLetter[];
  commit(): Promise<void>;
  release(): void;
}

const FILE_RE = /^dlq-(\d{8})\.jsonl$/;
const fileName = (seq: number) => `dlq-${String(seq).padStart(8, '0')}.jsonl`;

/** The DLQ folder inside a storage folder. */

/** A unique id that sorts by creation time: base36 milliseconds, then random hex. */
export function newDeadLetterId(now = Date.now()): string {
  return `${now.toString(36).padStart(9, '0')}-${randomBytes(6).toString('hex')}`;
}

export function matchesFilter(rec: DeadLetter, f: DeadLetterFilter = {}): boolean {
  return (
    (f.pipeline === undefined || rec.pipeline === f.pipeline) &&
    (f.sink === undefined || rec.sink === f.sink) &&
    (f.reason === undefined || rec.reason === f.reason)
  );
}

function isDeadLetter(v: unknown): v is DeadLetter {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.id === 'string' &&
    typeof r.reason === 'string' &&
    typeof r.eventId === 'number' &&
    typeof r.eventName === 'string' &&
    typeof r.event === 'object'
  );
}

/** Stream the records of one file. Lines that do not parse (a torn tail after a crash) are skipped. */
async function* readRecords(file: string): AsyncGenerator<DeadLetter> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed by a commit since the folder was listed
    throw err;
  }
  const input = fh.createReadStream({ encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (!line) continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        continue;
      }
      if (isDeadLetter(v)) yield v;
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

interface PendingAppend {
  line: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * The dead-letter queue. One process writes at a time (the daemon while it runs, the CLI when it is stopped).
 * @example
 * const dlq = await DeadLetterStore.open(deadLetterDir(config.storage.dir), { fsync: config.storage.fsync });
 * await dlq.append({ id: newDeadLetterId(), reason: 'delivery_failed', ... });
 * for await (const rec of dlq.list({ pipeline: 'bounces' })) console.log(rec.lastError);
 */
export class DeadLetterStore {
  private fh!: FileHandle;
  private seq = 0;
  private size = 0;
  /** Bytes of the files other than the active one: with `size`, what the DLQ adds to the disk quota. */
  private sealedBytes = 0;
  /** The last write failed (disk full, I/O error): readiness reports it until a write succeeds. */
  private writeFailed = false;
  /** A failed write may have left a partial line: cut the file back to `size` before writing again. */
  private dirty = false;
  private pending: PendingAppend[] = [];
  private flushing: Promise<void> | undefined;
  /** Ids handed out by `take` and not yet committed or released: not handed out twice. */
  private readonly reserved = new Set<string>();
  private commitChain: Promise<void> = Promise.resolve();
  /** Writes to the active file and its rotation run one at a time. */
  private fileChain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly fsync: FsyncMode,
    private readonly maxFileBytes: number,
    private readonly onBytes: (bytes: number) => void,
  ) {}

  /** Open (creating) the DLQ folder; a torn last line in the active file is cut off. */
  static async open(
    dir: string,
    opts: { fsync?: FsyncMode; maxFileBytes?: number; onBytes?: (bytes: number) => void } = {},
  ): Promise<DeadLetterStore> {
    const store = new DeadLetterStore(
      dir,
      opts.fsync ?? 'batch',
      opts.maxFileBytes ?? 16 * 1024 * 1024,
      opts.onBytes ?? (() => {}),
    );
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const seqs = await store.fileSeqs();
    for (const seq of seqs.slice(0, -1)) store.sealedBytes += await store.fileBytes(seq);
    await store.openActive(seqs.at(-1) ?? 1);
    store.reportBytes();
    return store;
  }

  /** Bytes of every dead-letter file: they count against `storage.maxDiskBytes` together with the journal. */
  get bytes(): number {
    return this.sealedBytes + this.size;
  }

  /** False after a write failed, until one succeeds again. */
  get healthy(): boolean {
    return !this.writeFailed;
  }

  /** Store one record; resolves once it is on disk (fsynced unless `fsync: off`). Concurrent appends share one fsync. */
  append(rec: DeadLetter): Promise<void> {
    if (this.closed) return Promise.reject(new Error('dead-letter store is closed'));
    const line = Buffer.from(`${JSON.stringify(rec)}\n`);
    return new Promise((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.flushing ??= this.serial(() => this.flushLoop());
    });
  }

  /** Stream the records (oldest file first) that match `filter`. */
  async *list(filter: DeadLetterFilter = {}): AsyncGenerator<DeadLetter> {
    for (const seq of await this.fileSeqs()) {
      for await (const rec of readRecords(join(this.dir, fileName(seq)))) if (matchesFilter(rec, filter)) yield rec;
    }
  }

  /** Counts per (pipeline, sink, reason), with the latest error; sorted by pipeline, sink, reason. */
  async summary(filter: DeadLetterFilter = {}): Promise<DeadLetterGroup[]> {
    const groups = new Map<string, DeadLetterGroup>();
    for await (const rec of this.list(filter)) {
      const key = JSON.stringify([rec.pipeline ?? null, rec.sink ?? null, rec.reason]);
      const g = groups.get(key);
      const at = typeof rec.deadAt === 'number' ? rec.deadAt : 0;
      if (!g)
        groups.set(key, {
          pipeline: rec.pipeline ?? null,
          sink: rec.sink ?? null,
          reason: rec.reason,
          count: 1,
          lastError: String(rec.lastError ?? ''),
          lastAt: at,
        });
      else {
        g.count++;
        if (at >= g.lastAt) Object.assign(g, { lastAt: at, lastError: String(rec.lastError ?? '') });
      }
    }
    const s = (v: string | null) => v ?? '';
    return [...groups.values()].sort(
      (a, b) =>
        s(a.pipeline).localeCompare(s(b.pipeline)) ||
        s(a.sink).localeCompare(s(b.sink)) ||
        a.reason.localeCompare(b.reason),
    );
  }

  /**
   * Hand out matching records for replay. They stay on disk until `commit()` removes them, so a crash between
   * take and commit replays them again rather than losing them. `where` narrows further (e.g. skip quarantined).
   */
  async take(
    filter: DeadLetterFilter = {},
    opts: { limit?: number; where?: (rec: DeadLetter) => boolean } = {},
  ): Promise<DeadLetterTake> {
    // Seal the active file so commit rewrites only files that no append touches.
    await this.serial(async () => {
      if (this.size > 0) await this.rotate();
    });
    const limit = opts.limit ?? Infinity;
    const records: DeadLetter[] = [];
    const byFile = new Map<number, Set<string>>();
    for (const seq of await this.fileSeqs()) {
      if (seq === this.seq || records.length >= limit) continue;
      for await (const rec of readRecords(join(this.dir, fileName(seq)))) {
        if (records.length >= limit) break;
        if (this.reserved.has(rec.id) || !matchesFilter(rec, filter) || (opts.where && !opts.where(rec))) continue;
        records.push(rec);
        this.reserved.add(rec.id);
        let ids = byFile.get(seq);
        if (!ids) byFile.set(seq, (ids = new Set()));
        ids.add(rec.id);
      }
    }
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      for (const r of records) this.reserved.delete(r.id);
    };
    const commit = async () => {
      if (done) return;
      const run = this.commitChain.then(() => this.removeFromFiles(byFile));
      this.commitChain = run.catch(() => {});
      await run;
      release();
    };
    return { records, commit, release };
  }

  /** Finish pending appends and close the active file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await this.fileChain;
    await this.commitChain;
    await this.fh.close();
  }

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.fileChain.then(fn);
    this.fileChain = run.catch(() => {});
    return run;
  }

  private async fileSeqs(): Promise<number[]> {
    const names = await readdir(this.dir);
    return names
      .flatMap((n) => {
        const m = FILE_RE.exec(n);
        return m ? [Number(m[1])] : [];
      })
      .sort((a, b) => a - b);
  }

  private async openActive(seq: number): Promise<void> {
    const file = join(this.dir, fileName(seq));
    this.fh = await open(file, 'a+', 0o600);
    this.seq = seq;
    this.size = (await this.fh.stat()).size;
    await this.cutTornTail();
    if (this.fsync !== 'off') await syncDir(this.dir);
  }

  /** A crash mid-write leaves a last line without its newline: cut it so the next record starts on a fresh line. */
  private async cutTornTail(): Promise<void> {
    if (this.size === 0) return;
    const chunk = 64 * 1024;
    let end = this.size;
    while (end > 0) {
      const start = Math.max(0, end - chunk);
      const buf = Buffer.alloc(end - start);
      await this.fh.read(buf, 0, buf.length, start);
      const nl = buf.lastIndexOf(0x0a);
      if (nl >= 0) {
        const keep = start + nl + 1;
        if (keep !== this.size) await this.truncateTo(keep);
        return;
      }
      end = start;
    }
    await this.truncateTo(0);
  }

  private async truncateTo(size: number): Promise<void> {
    await this.fh.truncate(size);
    if (this.fsync !== 'off') await this.fh.sync();
    this.size = size;
  }

  private async rotate(): Promise<void> {
    await this.fh.close();
    this.sealedBytes += this.size;
    this.size = 0;
    await this.openActive(this.seq + 1);
  }

  private async fileBytes(seq: number): Promise<number> {
    return (await stat(join(this.dir, fileName(seq))).catch(() => ({ size: 0 }))).size;
  }

  private reportBytes(): void {
    this.onBytes(this.bytes);
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.fsync === 'always' ? this.pending.splice(0, 1) : this.pending.splice(0);
        try {
          if (this.dirty) {
            await this.truncateTo(this.size);
            this.dirty = false;
          }
          if (this.size >= this.maxFileBytes) await this.rotate();
          const buf = Buffer.concat(batch.map((p) => p.line));
          this.dirty = true;
          let off = 0;
          while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
          if (this.fsync !== 'off') await this.fh.sync();
          this.dirty = false;
          this.size += buf.length;
          this.writeFailed = false;
          this.reportBytes();
          for (const p of batch) p.resolve();
        } catch (err) {
          this.writeFailed = true;
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Rewrite each sealed file without the committed ids: temp file, fsync, rename (or unlink when nothing is left). */
  private async removeFromFiles(byFile: Map<number, Set<string>>): Promise<void> {
    for (const [seq, ids] of byFile) {
      const file = join(this.dir, fileName(seq));
      const tmp = `${file}.tmp`;
      const before = await this.fileBytes(seq);
      const out = await open(tmp, 'w', 0o600);
      let kept = 0;
      let keptBytes = 0;
      try {
        for await (const rec of readRecords(file)) {
          if (ids.has(rec.id)) continue;
          keptBytes += (await out.write(`${JSON.stringify(rec)}\n`)).bytesWritten;
          kept++;
        }
        if (this.fsync !== 'off') await out.sync();
      } finally {
        await out.close();
      }
      if (kept === 0) {
        await unlink(tmp);
        await unlink(file).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
      } else {
        await rename(tmp, file);
      }
      this.sealedBytes = Math.max(0, this.sealedBytes - before + (kept === 0 ? 0 : keptBytes));
      this.reportBytes();
    }
    if (this.fsync !== 'off' && byFile.size > 0) await syncDir(this.dir);
  }
}
