// The `file` sink: appends one JSON line per payload to a fixed file (a batch in one write), rotating it by size and time.
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import { Size, parseSize } from '../schema-kit/units.ts';
import { defineSink, ok, permanent, retryable, type SinkContext, type SinkInstance } from './define.ts';
import { payloadJson } from './util/payload-json.ts';
import { periodStart, pruneRotated, rotateAway, type RotateEvery } from './util/file-rotation.ts';

export const FileSinkOptions = Type.Object(
  {
    path: Type.String({
      minLength: 1,
      description:
        'The file to append to, relative to the config folder. Fixed here, never built from event data. One file sink per path.',
      examples: ['./data/out/bounces.jsonl'],
    }),
    maxBytes: Type.Optional(
      Size(undefined, 'Rotate when the file would grow past this size (e.g. `100mb`). Omitted: no size limit.', 1),
    ),
    rotate: Type.Union([Type.Literal('hourly'), Type.Literal('daily'), Type.Literal('never')], {
      default: 'never',
      description: 'Also rotate when the UTC hour or day changes.',
    }),
    keep: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 7,
      description: 'Rotated files kept (`out-20261127T170000.jsonl`); older ones are deleted.',
    }),
    fsync: Type.Boolean({
      default: false,
      description:
        'fsync after every write. Off by default: the journal keeps the event until the write is done, so a crash re-delivers rather than loses.',
    }),
  },
  { additionalProperties: false, description: 'Options of the `file` sink.' },
);

export type FileSinkOptions = Static<typeof FileSinkOptions>;

/** Lines written in one `write` at most; concurrent sends beyond it wait for the next batch. */
const MAX_BATCH = 1024;

interface Pending {
  data: string;
  done: (err?: Error) => void;
}

/** An append-only JSON Lines file with one open descriptor; concurrent appends are batched into one write. */
export class JsonlFile {
  #fh: FileHandle | undefined;
  #size = 0;
  #period = 0;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly opts: { maxBytes: number; rotate: RotateEvery; keep: number; fsync: boolean; now: () => number },
  ) {}

  /** Append `data` (whole lines); resolves once it is written to the file (and fsynced if asked). */
  append(data: string): Promise<void> {
    return new Promise((resolvePromise, reject) => {
      this.#pending.push({ data, done: (err) => (err ? reject(err) : resolvePromise()) });
      this.#schedule();
    });
  }

  /**
   * Start writing on the next turn of the event loop, not now: the sends of one turn (a routed batch, a write that
   * finished and freed many lanes' slots) then share one write instead of the first going out alone.
   */
  #schedule(): void {
    if (this.#flushing) return;
    this.#flushing = new Promise((next) => setImmediate(next))
      .then(() => this.#flush())
      .finally(() => {
        this.#flushing = undefined;
        // An append that came after the last batch was taken but before this ran has not been written yet.
        if (this.#pending.length > 0) this.#schedule();
      });
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH);
      try {
        await this.#write(Buffer.from(batch.map((p) => p.data).join(''), 'utf8'));
        for (const p of batch) p.done();
      } catch (err) {
        // Reopen on the next write: the directory may have been fixed or the disk freed.
        await this.#closeFd();
        for (const p of batch) p.done(err as Error);
      }
    }
  }

  async #open(now: number): Promise<FileHandle> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const fh = await open(this.path, 'a', 0o600);
    try {
      const st = await fh.stat();
      this.#size = st.size;
      // An existing file belongs to the period it was last written in, so a restart next day still rotates it.
      this.#period = periodStart(st.size > 0 ? st.mtimeMs : now, this.opts.rotate);
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    this.#fh = fh;
    return fh;
  }

  async #write(buf: Buffer): Promise<void> {
    const now = this.opts.now();
    let fh = this.#fh ?? (await this.#open(now));
    const newPeriod = this.opts.rotate !== 'never' && periodStart(now, this.opts.rotate) !== this.#period;
    const tooBig = this.opts.maxBytes > 0 && this.#size + buf.length > this.opts.maxBytes;
    if (this.#size > 0 && (newPeriod || tooBig)) {
      await this.#closeFd();
      await rotateAway(this.path, newPeriod ? this.#period : now);
      await pruneRotated(this.path, this.opts.keep);
      fh = await this.#open(now);
      this.#period = periodStart(now, this.opts.rotate);
    }
    let offset = 0;
    while (offset < buf.length) {
      const { bytesWritten } = await fh.write(buf, offset, buf.length - offset);
      offset += bytesWritten;
    }
    this.#size += buf.length;
    if (this.opts.fsync) await fh.datasync();
  }

  async #closeFd(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => {});
  }

  /** Wait for queued appends, then close the descriptor. */
  async close(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await this.#closeFd();
  }
}

/** Build a `file` sink instance. `now` is injectable so tests can move time for rotation. */
export function createFileSink(
  options: FileSinkOptions,
  ctx: Pick<SinkContext, 'baseDir'>,
  now: () => number = Date.now,
): SinkInstance {
  const file = new JsonlFile(resolve(ctx.baseDir, options.path), {
    maxBytes: options.maxBytes === undefined ? 0 : parseSize(options.maxBytes),
    rotate: options.rotate ?? 'never',
    keep: options.keep ?? 7,
    fsync: options.fsync ?? false,
    now,
  });
  return {
    async send(payload) {
      let line: string;
      try {
        line = `${payloadJson(payload)}\n`;
      } catch (err) {
        return permanent(`payload is not JSON-serialisable: ${(err as Error).message}`);
      }
      try {
        await file.append(line);
        return ok();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return retryable(`write to ${options.path} failed: ${e.code ?? e.message}`);
      }
    },
    async sendBatch(items) {
      let lines: string;
      try {
        lines = items.map((it) => `${payloadJson(it.payload)}\n`).join('');
      } catch (err) {
        return permanent(`payload is not JSON-serialisable: ${(err as Error).message}`);
      }
      try {
        await file.append(lines);
        return ok();
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        return retryable(`write to ${options.path} failed: ${e.code ?? e.message}`);
      }
    },
    close: () => file.close(),
  };
}

/**
 * `type: file`: JSON Lines, one payload a line, rotated by size and/or time.
 * @example
 * sinks:
 *   - type: file
 *     path: ./data/out/bounces.jsonl
 *     maxBytes: 100mb
 *     rotate: daily
 *     keep: 14
 */
export const fileSink = defineSink({
  type: 'file',
  description: 'Appends each payload as one JSON line to a file, with size and time rotation.',
  options: FileSinkOptions,
  // Sends in flight at once are appended with one write (see JsonlFile), so this is the batch size: with the generic
  // default of 4 every few lines cost a write call, which was the largest part of a file delivery's cost.
  defaults: { concurrency: 64 },
  batches: true,
  create: (options, ctx) => createFileSink(options, ctx),
});
