// `hookroute send`: posts realistic generated Iterable events to a webhook URL (demo, smoke test, load), then prints a summary.
import { Pool } from 'undici';
import { performance } from 'node:perf_hooks';
import pkg from '../../package.json' with { type: 'json' };
import { KNOWN_EVENT_NAMES } from '../events/catalog.ts';
import { invalidSampleEvent, sampleEvent } from '../events/samples.ts';
import { SendStats, progressLine, summary } from './send-stats.ts';

/** Options of `hookroute send` (commander's camelCase names for the flags). */
export interface SendOptions {
  /** Webhook URL. Default `http://127.0.0.1:8080/webhook`. */
  url?: string;
  /** An eventName (any, known or not) or `all` to cycle through every catalog eventName. Default `all`. */
  event?: string;
  /** Requests to send. Default: one per catalog eventName for `all`, else 1. */
  count?: number;
  /** Requests per second; 0 or absent: as fast as `concurrency` allows. */
  rate?: number;
  /** Requests in flight at once. Default 16. */
  concurrency?: number;
  /** `user:pass`, sent as `Authorization: Basic base64(user:pass)`. */
  authBasic?: string;
  /** Sent as `Authorization: Bearer <token>`. */
  authToken?: string;
  /** `id:secret`: fetch a client-credentials token from `<origin>/oauth/token`, then send it as `Bearer`. */
  oauth2?: string;
  /** Extra headers, each `Name: value`. */
  header?: string[] | string;
  /** Send each event with one known field of the wrong type. */
  invalid?: boolean;
  /** Per-request timeout in milliseconds. Default 10000. */
  timeout?: number;
  /** How often the progress line is printed, in ms. Default 1000. */
  progressEveryMs?: number;
}

/** A checked plan: everything `send` needs, or the usage error that stops it. */
interface Plan {
  url: URL;
  names: readonly string[];
  count: number;
  rate: number;
  concurrency: number;
  timeout: number;
  invalid: boolean;
  headers: Record<string, string>;
  oauth2?: { id: string; secret: string };
}

const DEFAULT_URL = 'http://127.0.0.1:8080/webhook';
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const MAX_COUNT = 100_000_000;
const MAX_CONCURRENCY = 10_000;

class UsageError extends Error {}

function splitPair(value: string, flag: string): [string, string] {
  const at = value.indexOf(':');
  if (at <= 0) throw new UsageError(`${flag} must look like a:b`);
  return [value.slice(0, at), value.slice(at + 1)];
}

function wholeNumber(value: unknown, flag: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function plan(opts: SendOptions): Plan {
  let url: URL;
  try {
    url = new URL(opts.url ?? DEFAULT_URL);
  } catch {
    throw new UsageError(`--url is not a URL: ${opts.url}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http:// or https://');
  const event = opts.event ?? 'all';
  if (event === '' || event.length > 256) throw new UsageError('--event must be an eventName or "all"');
  const names = event === 'all' ? KNOWN_EVENT_NAMES : [event];
  const rate = opts.rate ?? 0;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate < 0)
    throw new UsageError('--rate must be a number of requests per second');

  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': `hookroute-send/${pkg.version}`,
  };
  for (const header of opts.header === undefined ? [] : [opts.header].flat()) {
    const [name, value] = splitPair(header, '--header');
    if (!HEADER_NAME.test(name.trim()) || /[\r\n\0]/.test(value))
      throw new UsageError(`--header has a bad name or value: ${name}`);
    headers[name.trim().toLowerCase()] = value.trim();
  }
  const auths = [opts.authBasic, opts.authToken, opts.oauth2].filter((a) => a !== undefined);
  if (auths.length > 1) throw new UsageError('use only one of --auth-basic, --auth-token and --oauth2');
  if (opts.authBasic !== undefined) {
    splitPair(opts.authBasic, '--auth-basic');
    headers.authorization = `Basic ${Buffer.from(opts.authBasic).toString('base64')}`;
  }
  if (opts.authToken !== undefined) {
    if (opts.authToken === '' || /[\r\n\0]/.test(opts.authToken))
      throw new UsageError('--auth-token must be a non-empty single-line token');
    headers.authorization = `Bearer ${opts.authToken}`;
  }
  const oauth2 = opts.oauth2 === undefined ? undefined : splitPair(opts.oauth2, '--oauth2');
  return {
    url,
    names,
    count: wholeNumber(opts.count ?? names.length, '--count', 0, MAX_COUNT),
    rate,
    concurrency: wholeNumber(opts.concurrency ?? 16, '--concurrency', 1, MAX_CONCURRENCY),
    timeout: wholeNumber(opts.timeout ?? 10_000, '--timeout', 1, 3_600_000),
    invalid: opts.invalid === true,
    headers,
    ...(oauth2 ? { oauth2: { id: oauth2[0], secret: oauth2[1] } } : {}),
  };
}

/** Client-credentials grant (RFC 6749 4.4) against the daemon's own `POST /oauth/token`. */
async function fetchToken(pool: Pool, p: Plan): Promise<string> {
  const { id, secret } = p.oauth2!;
  const credentials = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
  const res = await pool.request({
    method: 'POST',
    path: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${credentials}` },
    body: 'grant_type=client_credentials',
    signal: AbortSignal.timeout(p.timeout),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`token endpoint answered ${res.statusCode}: ${text.slice(0, 200)}`);
  const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string' || token === '') throw new Error('token endpoint answered without an access_token');
  return token;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function errorKind(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown };
  if (typeof e?.code === 'string') return e.code;
  return typeof e?.name === 'string' ? e.name : 'Error';
}

/**
 * Run `hookroute send`: post `count` generated events to `url`, print progress every second and a summary to `out`.
 * Resolves with the exit code: 0 when every request got a 2xx, 1 otherwise, 2 for bad options.
 * @example await runSend({ url: 'http://127.0.0.1:8080/webhook', event: 'all' }, process.stdout)
 */
export async function runSend(opts: SendOptions, out: NodeJS.WritableStream): Promise<number> {
  let p: Plan;
  try {
    p = plan(opts);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n`);
    return 2;
  }
  const pool = new Pool(p.url.origin, {
    connections: p.concurrency,
    headersTimeout: p.timeout,
    bodyTimeout: p.timeout,
    keepAliveTimeout: 10_000,
  });
  try {
    if (p.oauth2) {
      try {
        p.headers.authorization = `Bearer ${await fetchToken(pool, p)}`;
      } catch (err) {
        out.write(`could not get an OAuth2 token from ${p.url.origin}/oauth/token: ${(err as Error).message}\n`);
        return 1;
      }
    }
    return await sendAll(pool, p, out, opts.progressEveryMs ?? 1000);
  } finally {
    await pool.destroy();
  }
}

async function sendAll(pool: Pool, p: Plan, out: NodeJS.WritableStream, progressEveryMs: number): Promise<number> {
  const stats = new SendStats();
  const path = p.url.pathname + p.url.search;
  const started = performance.now();
  const progress = setInterval(
    () => out.write(progressLine(stats, p.count, performance.now() - started)),
    progressEveryMs,
  );
  let next = 0;

  const worker = async () => {
    for (let i = next++; i < p.count; i = next++) {
      if (p.rate > 0) {
        const due = started + (i * 1000) / p.rate;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      const name = p.names[i % p.names.length]!;
      const body = JSON.stringify(p.invalid ? invalidSampleEvent(name, i) : sampleEvent(name, i));
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: 'POST',
          path,
          headers: p.headers,
          body,
          signal: AbortSignal.timeout(p.timeout),
        });
        await res.body.dump();
        stats.response(res.statusCode, performance.now() - t0);
      } catch (err) {
        stats.failure(errorKind(err), performance.now() - t0);
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(p.concurrency, Math.max(p.count, 1)) }, worker));
  } finally {
    clearInterval(progress);
  }
  out.write(summary(stats, p.url.href, performance.now() - started));
  return stats.ok === stats.sent ? 0 : 1;
}
