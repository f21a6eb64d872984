// What `hookroute send` measures: status counts, error kinds and a fixed-size latency histogram (memory does not grow with --count).

const GROWTH = 1.02; // bucket width: each bucket is 2% wider than the last, so percentiles are within 2%
const MIN_MS = 0.01;
const BUCKETS = Math.ceil(Math.log(600_000 / MIN_MS) / Math.log(GROWTH)) + 1; // up to 10 minutes
const MAX_ERROR_KINDS = 20;

/** Counts and latencies of one `send` run. */
export class SendStats {
  readonly statuses = new Map<number, number>();
  readonly errors = new Map<string, number>();
  private readonly histogram = new Uint32Array(BUCKETS);
  private samples = 0;
  private maxMs = 0;
  sent = 0;
  ok = 0;

  /** A response arrived with `status` after `ms` milliseconds. */
  response(status: number, ms: number): void {
    this.sent++;
    if (status >= 200 && status < 300) this.ok++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    this.latency(ms);
  }

  /** The request failed without a response (refused, reset, timed out). `kind` is an error code; new kinds past a bound fold into `other`. */
  failure(kind: string, ms: number): void {
    this.sent++;
    const key = this.errors.has(kind) || this.errors.size < MAX_ERROR_KINDS ? kind : 'other';
    this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    this.latency(ms);
  }

  get errorCount(): number {
    let total = 0;
    for (const n of this.errors.values()) total += n;
    return total;
  }

  /** The latency below which `fraction` (0..1) of requests fell, in ms; the bucket's upper edge, capped at the true max. */
  percentile(fraction: number): number {
    if (this.samples === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.samples));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.histogram[i]!;
      if (seen >= rank) return Math.min(MIN_MS * GROWTH ** i, this.maxMs);
    }
    return this.maxMs;
  }

  get max(): number {
    return this.maxMs;
  }

  private latency(ms: number): void {
    const bucket = ms <= MIN_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / MIN_MS) / Math.log(GROWTH)));
    this.histogram[bucket]!++;
    this.samples++;
    if (ms > this.maxMs) this.maxMs = ms;
  }
}

const fixed = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));

/** One progress line: `sent 1200/5000  2xx 1198  non-2xx 2  errors 0  400/s`. */
export function progressLine(stats: SendStats, count: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (stats.sent * 1000) / elapsedMs : 0;
  return `sent ${stats.sent}/${count}  2xx ${stats.ok}  non-2xx ${stats.sent - stats.ok - stats.errorCount}  errors ${stats.errorCount}  ${rate.toFixed(0)}/s\n`;
}

/** The closing summary: sent, status counts, errors, latency percentiles. */
export function summary(stats: SendStats, url: string, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (stats.sent * 1000) / elapsedMs : 0;
  const statuses = [...stats.statuses]
    .sort(([a], [b]) => a - b)
    .map(([status, n]) => `${status}: ${n}`)
    .join(', ');
  const errors = [...stats.errors]
    .sort(([, a], [, b]) => b - a)
    .map(([kind, n]) => `${kind}: ${n}`)
    .join(', ');
  return [
    `sent ${stats.sent} requests to ${url} in ${(elapsedMs / 1000).toFixed(2)}s (${rate.toFixed(1)}/s)`,
    `status: ${statuses || 'none'}`,
    `errors: ${stats.errorCount}${errors ? ` (${errors})` : ''}`,
    `latency ms: p50 ${fixed(stats.percentile(0.5))}  p90 ${fixed(stats.percentile(0.9))}  p99 ${fixed(stats.percentile(0.99))}  max ${fixed(stats.max)}`,
    '',
  ].join('\n');
}
