// Request body intake: Content-Type and Content-Length checks on the head, then a copy of the engine's chunks with a running size limit.

/**
 * Whether a Content-Type names JSON: `application/json`, any case, optionally with parameters such as `; charset=utf-8`.
 * A missing Content-Type is accepted (Iterable always sends one; curl users often forget it), so '' is true.
 */
export function isJsonContentType(contentType: string): boolean {
  if (contentType === '') return true;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type !== 'application/json') return false;
  if (semi < 0) return true;
  // JSON is UTF-8 (RFC 8259); a different declared charset would make us misread the bytes.
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType.slice(semi));
  return !charset || /^utf-?8$/i.test(charset[1]!);
}

/**
 * The announced body length: a non-negative integer, -1 when absent (e.g. chunked), NaN when malformed.
 * @example announcedLength('42') // 42
 */
export function announcedLength(contentLength: string): number {
  if (contentLength === '') return -1;
  return /^\d{1,15}$/.test(contentLength) ? Number(contentLength) : Number.NaN;
}

/**
 * Collects one request body from the engine's chunks. uWS neuters each ArrayBuffer when the callback returns,
 * so every chunk is copied (node's Buffers alike, for one code path); with a known length the copy goes straight into one buffer of that size.
 *
 * @example
 * const body = new BodyBuffer(config.server.maxBodyBytes, announcedLength(req.getHeader('content-length')));
 * res.onData((chunk, last) => { if (!body.add(chunk)) return reply413(); if (last) handle(body.take()); });
 */
export class BodyBuffer {
  private buf: Buffer | undefined;
  private chunks: Buffer[] | undefined;
  /** Bytes received so far. */
  size = 0;

  /** `expected` is the Content-Length, or -1 when unknown; it must already be checked against `limit`. */
  constructor(
    private readonly limit: number,
    expected: number,
  ) {
    if (expected >= 0) this.buf = Buffer.allocUnsafe(expected);
  }

  /** Copy a chunk in. False as soon as the running total passes the limit (nothing more should be read then). */
  add(chunk: ArrayBuffer | Uint8Array): boolean {
    const n = chunk.byteLength;
    if (n === 0) return true;
    if (this.size + n > this.limit) return false;
    const src = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
    if (this.buf && this.size + n <= this.buf.length) {
      this.buf.set(src, this.size);
    } else {
      // Unknown length, or more bytes than announced (uWS frames by Content-Length, so only the former in practice).
      if (this.buf) {
        this.chunks = [this.buf.subarray(0, this.size)];
        this.buf = undefined;
      }
      (this.chunks ??= []).push(Buffer.from(src));
    }
    this.size += n;
    return true;
  }

  /** The whole body received so far: call after the last chunk. */
  take(): Buffer {
    if (this.buf) return this.size === this.buf.length ? this.buf : this.buf.subarray(0, this.size);
    if (!this.chunks) return Buffer.alloc(0);
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }
}
