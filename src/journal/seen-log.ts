// The local driver's long-term home of seen dedupe keys: append-only files under `<storage.dir>/dedupe/`, one per time
// slice, each deleted once every key in it has expired. The journal keeps a key in its ROUTED record until this log has
// fsynced it, so a crash between the two loses nothing.
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { FsyncMode } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import type { SeenKey } from '../storage/seen-keys.ts';
import { decodeSeenKeys, encodeSeenKeys } from './format.ts';

/** A file is closed for writing past this size or age: expiry then frees disk in slices this big. */
const ROLL_BYTES = 8 * 1024 * 1024;
const ROLL_MS = 60 * 60 * 1000;
/** Expired files are looked for at most this often. */
const SWEEP_MS = 60 * 1000;
const HEADER = 8;

const FILE_RE = /^(\d{8})\.log$/;
const fileName = (n: number) => `${String(n).padStart(8, '0')}.log`;

export interface SeenLogOptions {
  dir: string;
  fsync: FsyncMode;
  logger: Logger;
}

interface LogFile {
  seq: number;
  bytes: number;
  /** Latest expiry of any key in the file: the file may go once that has passed. */
  expiresAt: number;
  openedAt: number;
}

/**
 * Frames `[u32 length][u32 crc32][seen keys]`, written in the background and fsynced on `sync()` (the journal calls it
 * before deleting a segment whose ROUTED records carry keys). A torn frame ends its file's scan; the file is never
 * appended to again (every open starts a new one).
 * @example
 * const log = await SeenLog.open({ dir, fsync: 'batch', logger }, (key) => seen.restore(key));
 * log.append(keys);
 * await log.sync();
 */
export class SeenLog {
  private readonly files: LogFile[] = [];
  private handle: FileHandle | undefined;
  private pending: Buffer[] = [];
  private pendingExpiry = 0;
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private dirty = false;
  private failed: Error | undefined;
  private lastSweep = 0;

  private constructor(private readonly opts: SeenLogOptions) {}

  /** Read every file (calling `visit` per key, expired ones included), delete expired files, start a fresh file. */
  static async open(opts: SeenLogOptions, visit: (key: SeenKey) => void, now = Date.now()): Promise<SeenLog> {
    const log = new SeenLog(opts);
    await mkdir(opts.dir, { recursive: true });
    const seqs = (await readdir(opts.dir))
      .map((f) => FILE_RE.exec(f)?.[1])
      .filter((s): s is string => s !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    for (const seq of seqs) {
      const buf = await readFile(join(opts.dir, fileName(seq)));
      let expiresAt = 0;
      let pos = 0;
      while (pos + HEADER <= buf.length) {
        const len = buf.readUInt32LE(pos);
        if (
          pos + HEADER + len > buf.length ||
          crc32(buf.subarray(pos + HEADER, pos + HEADER + len)) !== buf.readUInt32LE(pos + 4)
        )
          break;
        for (const key of decodeSeenKeys(buf.subarray(pos + HEADER, pos + HEADER + len))) {
          expiresAt = Math.max(expiresAt, key.expiresAt);
          visit(key);
        }
        pos += HEADER + len;
      }
      if (pos < buf.length)
        opts.logger.warn(
          { file: fileName(seq), offset: pos },
          'dedupe: torn or corrupt end of a seen-key file skipped',
        );
      log.files.push({ seq, bytes: buf.length, expiresAt, openedAt: now });
    }
    await log.sweep(now);
    await log.startFile((seqs.at(-1) ?? 0) + 1, now);
    return log;
  }

  /** Bytes of all files, queued writes included. */
  get bytes(): number {
    let n = 0;
    for (const f of this.files) n += f.bytes;
    for (const b of this.pending) n += b.length;
    return n;
  }

  /** Queue keys for writing (no fsync of their own: `sync` makes them durable). */
  append(keys: readonly SeenKey[]): void {
    if (keys.length === 0) return;
    const payload = encodeSeenKeys(keys);
    const head = Buffer.allocUnsafe(HEADER);
    head.writeUInt32LE(payload.length, 0);
    head.writeUInt32LE(crc32(payload), 4);
    this.pending.push(head, payload);
    for (const k of keys) this.pendingExpiry = Math.max(this.pendingExpiry, k.expiresAt);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.chain = this.chain.then(() => this.write());
      this.chain.catch(() => {}); // logged in write(); sync() reports it to its caller
    });
  }

  /** Resolve once every key appended so far is written and fsynced (unless `fsync: off`); rejects after a failed write. */
  sync(): Promise<void> {
    this.chain = this.chain.then(async () => {
      await this.write();
      if (this.dirty && this.opts.fsync !== 'off') await this.handle!.datasync();
      this.dirty = false;
    });
    this.chain.catch(() => {});
    return this.chain;
  }

  async close(): Promise<void> {
    await this.sync().catch(() => {});
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
  }

  private async write(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.pending.length === 0) return;
    const bufs = this.pending;
    const expiry = this.pendingExpiry;
    this.pending = [];
    this.pendingExpiry = 0;
    try {
      const now = Date.now();
      let active = this.files.at(-1)!;
      if (active.bytes >= ROLL_BYTES || (active.bytes > 0 && now - active.openedAt >= ROLL_MS)) {
        await this.startFile(active.seq + 1, now);
        active = this.files.at(-1)!;
      }
      let total = 0;
      for (const b of bufs) total += b.length;
      const all = Buffer.concat(bufs, total);
      for (let done = 0; done < total;)
        done += (await this.handle!.write(all, done, total - done, active.bytes + done)).bytesWritten;
      active.bytes += total;
      active.expiresAt = Math.max(active.expiresAt, expiry);
      this.dirty = true;
      if (now - this.lastSweep >= SWEEP_MS) await this.sweep(now);
    } catch (err) {
      // From now on every sync fails, so the journal keeps the keys in its segments instead of trusting this log.
      this.failed = err as Error;
      this.opts.logger.error({ err }, 'dedupe: could not write seen keys; the journal keeps them instead');
      throw this.failed;
    }
  }

  /** Close the active file (fsynced, so its keys are durable) and create the next. */
  private async startFile(seq: number, now: number): Promise<void> {
    if (this.handle) {
      if (this.dirty && this.opts.fsync !== 'off') await this.handle.datasync();
      await this.handle.close();
      this.dirty = false;
    }
    this.handle = await open(join(this.opts.dir, fileName(seq)), 'w');
    if (this.opts.fsync !== 'off') await syncDir(this.opts.dir);
    this.files.push({ seq, bytes: 0, expiresAt: 0, openedAt: now });
  }

  /** Delete closed files whose every key has expired. */
  private async sweep(now: number): Promise<void> {
    this.lastSweep = now;
    const active = this.handle ? this.files.at(-1) : undefined;
    for (const f of [...this.files]) {
      if (f === active || f.expiresAt > now) continue;
      await unlink(join(this.opts.dir, fileName(f.seq))).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      this.files.splice(this.files.indexOf(f), 1);
    }
  }
}

/** fsync the folder so a new file survives a power cut (where the platform allows it). */
async function syncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } catch {
    // Some platforms cannot fsync a directory.
  } finally {
    await h.close();
  }
}
