// HTTP machinery shared by the http and slack sinks: keep-alive undici pools, bounded response reading, status classification.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Pool, type Dispatcher } from 'undici';
import { ok, permanent, retryable, type SendOutcome } from '../define.ts';

type IncomingHttpHeaders = Dispatcher.ResponseData['headers'];

/** One request: the caller has already serialised the body. */
export interface HttpExchange {
  method: 'POST' | 'PUT' | 'PATCH';
  headers: Record<string, string>;
  body: string;
  /** Whole exchange (connect, headers and body) must finish within this many milliseconds. */
  timeoutMs: number;
  /** Response bytes read at most; the rest is discarded by closing the connection. */
  maxResponseBytes: number;
  /** Aborted when the daemon stops or the delivery gives up. */
  signal: AbortSignal;
}

/** What came back; `text` holds the first bytes of the body only (enough for error messages and small JSON). */
export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Response bytes kept as text for classification and error messages; the rest is counted and dropped. */
const KEPT_BYTES = 16 * 1024;
/** Characters of a response body quoted in an outcome's error (it ends up in the dead-letter record). */
const QUOTED_CHARS = 200;

/** Read a PEM from `ca` (inline text, or a path resolved against `baseDir`). */
export function loadCa(ca: string | undefined, baseDir: string): string | undefined {
  if (ca === undefined) return undefined;
  if (ca.includes('-----BEGIN')) return ca;
  return readFileSync(resolve(baseDir, ca), 'utf8');
}

/** A URL a sink may post to: http or https only, no credentials in it. Throws with a message fit for `validate`. */
export function checkHttpUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error('is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw new Error('must not carry credentials; use a header');
  return url;
}

/**
 * Keep-alive connection pools, one per origin, for one sink instance.
 * @example
 * const client = new HttpClient({ tls: { rejectUnauthorized: true } });
 * const outcome = await client.deliver(new URL('https://example.com/hook'), { method: 'POST', headers: {}, body: '{}', timeoutMs: 10_000, maxResponseBytes: 1 << 20, signal });
 * await client.close();
 */
export class HttpClient {
  readonly #pools = new Map<string, Pool>();
  readonly #tls: { rejectUnauthorized: boolean; ca?: string };

  constructor(opts: { tls?: { rejectUnauthorized: boolean; ca?: string } } = {}) {
    this.#tls = opts.tls ?? { rejectUnauthorized: true };
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      const connect = origin.startsWith('https:')
        ? { rejectUnauthorized: this.#tls.rejectUnauthorized, ...(this.#tls.ca ? { ca: this.#tls.ca } : {}) }
        : {};
      pool = new Pool(origin, { connect, keepAliveTimeout: 30_000 });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Send one request and read a bounded amount of the reply. Throws on network errors, timeouts and aborts. */
  async exchange(url: URL, req: HttpExchange): Promise<HttpReply> {
    const timeout = AbortSignal.timeout(req.timeoutMs);
    const signal = AbortSignal.any([req.signal, timeout]);
    const res = await this.#pool(url.origin).request({
      path: url.pathname + url.search,
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal,
    });
    // The body must always be consumed or destroyed, or undici keeps the socket busy forever.
    const chunks: Buffer[] = [];
    let kept = 0;
    let seen = 0;
    let complete = false;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        seen += chunk.length;
        if (kept < KEPT_BYTES) {
          chunks.push(chunk.subarray(0, KEPT_BYTES - kept));
          kept += Math.min(chunk.length, KEPT_BYTES - kept);
        }
        if (seen >= req.maxResponseBytes) break; // stop reading: the body is destroyed below, dropping that connection
      }
      complete = seen < req.maxResponseBytes;
    } finally {
      // A fully read body leaves the connection reusable; anything else must be destroyed.
      if (!complete && !res.body.destroyed) res.body.destroy();
    }
    return { status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') };
  }

  /**
   * Send and classify: 2xx ok; 408, 429, 5xx retryable (with Retry-After); other statuses permanent;
   * network errors and timeouts retryable. `inspect` may decide first (Slack's body, Discord's `retry_after`).
   */
  async deliver(
    url: URL,
    req: HttpExchange,
    inspect?: (reply: HttpReply) => SendOutcome | undefined,
  ): Promise<SendOutcome> {
    let reply: HttpReply;
    try {
      reply = await this.exchange(url, req);
    } catch (err) {
      return failureOutcome(err, req);
    }
    return inspect?.(reply) ?? classifyReply(reply);
  }

  /** Close every pool; in-flight requests finish first. */
  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => p.destroy())));
  }
}

/** The outcome a status code means, with `retryAfterMs` from a `Retry-After` header when the destination sent one. */
export function classifyReply(reply: HttpReply, now = Date.now()): SendOutcome {
  const { status } = reply;
  if (status >= 200 && status < 300) return ok();
  const error = `HTTP ${status}${quote(reply.text)}`;
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(header(reply.headers, 'retry-after'), now);
    return retryable(error, retryAfterMs === undefined ? { status } : { status, retryAfterMs });
  }
  // Redirects are not followed: a moved webhook is a configuration problem, not a transient one.
  return permanent(error, { status });
}

/** Milliseconds to wait from a `Retry-After` value: delta-seconds or an HTTP-date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined; // Date.parse accepts bare numbers like "1.5"; an HTTP-date always has a month name
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The first value of a response header. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function failureOutcome(err: unknown, req: HttpExchange): SendOutcome {
  if (req.signal.aborted) return retryable('aborted: the daemon is stopping');
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_ABORTED') {
    return retryable(`timed out after ${req.timeoutMs}ms`);
  }
  // Messages only: error objects from undici can carry the request options, headers included.
  return retryable(`network error: ${e.code ?? e.name ?? 'Error'}${e.message ? ` ${e.message}` : ''}`);
}

function quote(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  if (!t) return '';
  return `: ${t.length > QUOTED_CHARS ? `${t.slice(0, QUOTED_CHARS)}…` : t}`;
}
