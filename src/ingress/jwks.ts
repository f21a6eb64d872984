// The signing keys (JWKS) JWT access tokens are checked against: from the user's URL or file, bounded in size and time,
// refreshed on the server's cache headers and, for an unknown `kid`, at most once a minute; a failed load keeps the last good keys.
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWK, type JWTVerifyGetKey } from 'jose';
import { request } from 'undici';
import { jwksUrlProblem } from '../config/check.ts';
import type { Logger } from '../log.ts';

/** A JWKS is a few kilobytes; anything far larger is a wrong URL (or an attack on the parser). */
export const MAX_JWKS_BYTES = 256 * 1024;
/** Keys kept from one JWKS; identity providers publish two or three. */
export const MAX_JWKS_KEYS = 100;
/** A whole fetch (connect, headers, body) must finish within this. */
export const JWKS_FETCH_TIMEOUT_MS = 5000;
/** A token with an unknown `kid` triggers a fetch at most this often, so random `kid`s cannot hammer the JWKS server. */
export const UNKNOWN_KID_COOLDOWN_MS = 60_000;
/** Background refresh interval bounds around the server's `Cache-Control: max-age`, and the interval without one. */
const MIN_REFRESH_MS = 60_000;
const MAX_REFRESH_MS = 24 * 3_600_000;
const DEFAULT_REFRESH_MS = 10 * 60_000;
/** Retries after a failed fetch back off from the first to the last delay. */
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 60_000;
/** `jwksFile` is polled by stat (survives atomic replaces and Kubernetes' symlink swaps). */
const FILE_POLL_MS = 1000;
const KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export interface JwksOptions {
  /** Exactly one of `url` and `file`. */
  url?: string;
  file?: string;
  logger: Logger;
  /** Called after a load that changed the keys (verdicts cached for the old keys must go). */
  onChange?: () => void;
  /** Monotonic milliseconds, for the unknown-`kid` cooldown (tests move it). */
  clock?: () => number;
}

interface Loaded {
  keys?: JWK[];
  /** The server said 304: the keys are unchanged. */
  notModified?: boolean;
  etag?: string;
  refreshMs?: number;
}

/**
 * The key set, and when to load it again. `getKey` is what `jose.jwtVerify` takes.
 *
 * @example
 * const jwks = new JwksStore({ url: 'https://example.okta.com/oauth2/default/v1/keys', logger });
 * await jwks.start(); // one attempt; on failure it logs a warning and keeps retrying in the background
 * await jwtVerify(token, jwks.getKey, { issuer, audience });
 * jwks.close();
 */
export class JwksStore {
  private local: JWTVerifyGetKey | undefined;
  private fingerprint = '';
  private etag: string | undefined;
  private inflight: Promise<boolean> | undefined;
  private lastUnknownKidFetch = -Infinity;
  private lastAttemptFailed = false;
  private retryMs = RETRY_FIRST_MS;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly clock: () => number;
  private readonly shown: string;

  constructor(private readonly opts: JwksOptions) {
    if ((opts.url === undefined) === (opts.file === undefined))
      throw new Error('JWKS needs exactly one of url and file');
    if (opts.url !== undefined) {
      const problem = jwksUrlProblem(opts.url);
      if (problem) throw new Error(`auth.oauth2.jwt.jwksUrl: ${problem}`);
      const u = new URL(opts.url);
      // Only origin and path reach the log: a query string might carry something the user did not mean to publish.
      this.shown = u.origin + u.pathname;
    } else this.shown = opts.file!;
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** Keys have been loaded at least once. */
  get loaded(): boolean {
    return this.local !== undefined;
  }

  /** The last load attempt succeeded (false while the URL is down or the file unreadable). */
  get reachable(): boolean {
    return !this.lastAttemptFailed;
  }

  /** Key lookup by the token's header, for `jwtVerify`; throws `JWKSNoMatchingKey` while nothing is loaded. */
  readonly getKey: JWTVerifyGetKey = (header, token) => {
    if (!this.local) throw new errors.JWKSNoMatchingKey();
    return this.local(header, token);
  };

  /** First load; resolves once it has been tried (a failure is logged and retried in the background). */
  async start(): Promise<void> {
    if (this.opts.file !== undefined)
      watchFile(this.opts.file, { interval: FILE_POLL_MS, persistent: false }, this.onFileStat);
    await this.refresh('start');
  }

  /** Load now (SIGHUP, a file change); joins a load already under way. Resolves true when the keys changed. */
  refresh(reason: string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    this.inflight ??= this.load(reason).finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  /**
   * A token names a `kid` the keys lack (a rotation?): load again, at most once per `UNKNOWN_KID_COOLDOWN_MS`.
   * Resolves true when the keys changed, so the token is worth checking again.
   */
  refreshForUnknownKey(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    const now = this.clock();
    if (now - this.lastUnknownKidFetch < UNKNOWN_KID_COOLDOWN_MS) return Promise.resolve(false);
    this.lastUnknownKidFetch = now;
    return this.refresh('unknown kid');
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.opts.file !== undefined) unwatchFile(this.opts.file, this.onFileStat);
  }

  private readonly onFileStat = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino)
      void this.refresh('file change');
  };

  private async load(reason: string): Promise<boolean> {
    const { logger } = this.opts;
    let changed = false;
    try {
      const got =
        this.opts.url !== undefined ? await fetchJwks(this.opts.url, this.etag) : await readJwksFile(this.opts.file!);
      if (got.etag !== undefined) this.etag = got.etag;
      if (got.keys) changed = this.use(got.keys, reason);
      this.lastAttemptFailed = false;
      this.retryMs = RETRY_FIRST_MS;
      this.schedule(got.refreshMs);
    } catch (err) {
      this.lastAttemptFailed = true;
      const retryMs = this.opts.url !== undefined ? this.retryMs : undefined;
      logger.warn(
        {
          jwks: this.shown,
          reason,
          error: (err as Error).message,
          keptKeys: this.loaded,
          ...(retryMs !== undefined ? { retryInMs: retryMs } : {}),
        },
        this.loaded
          ? 'JWKS could not be loaded; the cached keys keep working'
          : 'JWKS could not be loaded; JWT access tokens are refused with 503 until it is',
      );
      if (retryMs !== undefined) {
        this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
        this.schedule(retryMs);
      }
    }
    return changed;
  }

  /** Swap in `keys` when they differ from the current set; true when they did. */
  private use(keys: JWK[], reason: string): boolean {
    const fingerprint = JSON.stringify(keys);
    if (fingerprint === this.fingerprint) return false;
    this.local = createLocalJWKSet({ keys } as JSONWebKeySet);
    this.fingerprint = fingerprint;
    this.opts.logger.info(
      { jwks: this.shown, reason, kids: keys.map((k) => k.kid ?? '(none)').slice(0, 10), keys: keys.length },
      'JWKS loaded',
    );
    this.opts.onChange?.();
    return true;
  }

  private schedule(ms: number | undefined): void {
    clearTimeout(this.timer);
    if (this.closed || ms === undefined) return;
    this.timer = setTimeout(() => void this.refresh('scheduled'), ms);
    this.timer.unref();
  }
}

/** GET the JWKS: no redirects, `MAX_JWKS_BYTES` at most, `JWKS_FETCH_TIMEOUT_MS` in all, `If-None-Match` when an ETag is known. */
async function fetchJwks(url: string, etag: string | undefined): Promise<Loaded> {
  const signal = AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS);
  const res = await request(url, {
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json', ...(etag ? { 'if-none-match': etag } : {}) },
    headersTimeout: JWKS_FETCH_TIMEOUT_MS,
    bodyTimeout: JWKS_FETCH_TIMEOUT_MS,
    signal,
  });
  const refreshMs = refreshInterval(res.headers);
  if (res.statusCode === 304) {
    await res.body.dump();
    return { notModified: true, refreshMs, ...(etag ? { etag } : {}) };
  }
  if (res.statusCode !== 200) {
    await res.body.dump();
    const hint =
      res.statusCode >= 300 && res.statusCode < 400 ? ' (redirects are not followed: give the final URL)' : '';
    throw new Error(`the JWKS URL answered HTTP ${res.statusCode}${hint}`);
  }
  const announced = Number(res.headers['content-length']);
  if (announced > MAX_JWKS_BYTES) {
    res.body.destroy();
    throw new Error(`the JWKS is larger than ${MAX_JWKS_BYTES} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_JWKS_BYTES) {
      res.body.destroy();
      throw new Error(`the JWKS is larger than ${MAX_JWKS_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  const newEtag = res.headers.etag;
  return {
    keys: parseJwks(Buffer.concat(chunks).toString('utf8')),
    refreshMs,
    ...(typeof newEtag === 'string' ? { etag: newEtag } : {}),
  };
}

async function readJwksFile(file: string): Promise<Loaded> {
  const info = await stat(file);
  if (!info.isFile()) throw new Error('jwksFile is not a regular file');
  if (info.size > MAX_JWKS_BYTES) throw new Error(`jwksFile is larger than ${MAX_JWKS_BYTES} bytes`);
  return { keys: parseJwks(await readFile(file, 'utf8')) };
}

/**
 * The public signing keys of a JWKS document. Symmetric (`oct`) keys are dropped (an HMAC key in a JWKS is never
 * right), and so is any key that carries private material: a JWKS that publishes it lets anyone sign.
 */
export function parseJwks(text: string): JWK[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error('the JWKS is not valid JSON');
  }
  const list = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(list)) throw new Error('the JWKS has no "keys" list');
  const keys = list
    .filter(
      (k): k is JWK =>
        k !== null &&
        typeof k === 'object' &&
        KEY_TYPES.has((k as JWK).kty!) &&
        PRIVATE_MEMBERS.every((m) => !(m in k)) &&
        ((k as JWK).use === undefined || (k as JWK).use === 'sig'),
    )
    .slice(0, MAX_JWKS_KEYS);
  if (keys.length === 0) throw new Error('the JWKS has no public signing key (RSA, EC or OKP)');
  return keys;
}

/** When to fetch again, from `Cache-Control: max-age` (or `Expires`), kept between one minute and one day. */
export function refreshInterval(headers: Record<string, string | string[] | undefined>): number {
  const cc = String(headers['cache-control'] ?? '').toLowerCase();
  let ms: number | undefined;
  const maxAge = /(?:^|[,\s])(?:s-maxage|max-age)\s*=\s*"?(\d+)/.exec(cc);
  if (maxAge) ms = Number(maxAge[1]) * 1000;
  else if (/no-cache|no-store/.test(cc)) ms = MIN_REFRESH_MS;
  else if (typeof headers.expires === 'string') {
    const at = Date.parse(headers.expires);
    if (Number.isFinite(at)) ms = at - Date.now();
  }
  if (ms === undefined || !Number.isFinite(ms)) return DEFAULT_REFRESH_MS;
  return Math.min(MAX_REFRESH_MS, Math.max(MIN_REFRESH_MS, ms));
}
