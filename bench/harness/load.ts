// Load generation: autocannon for peak throughput (closed loop) and an open-loop undici scheduler for honest latency.
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { cpuMeter } from './cpu.ts';
import { percentile } from './stats.ts';

const JSON_HEADERS = { 'content-type': 'application/json' };

export interface ThroughputResult {
  /** Mean 2xx responses per second. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Requests that got no 2xx (errors, timeouts, non-2xx statuses). */
  failed: number;
  total: number;
  /** The generator's CPU use during the run, % of one core (near 100 means the generator, not the server, was the limit). */
  genCpuPct: number;
}

/**
 * Closed-loop peak throughput: `connections` clients each keep one request in flight for `durationSec`,
 * cycling through the pre-serialised `bodies`.
 * @example const r = await closedLoop({ url: 'http://127.0.0.1:3000/webhook', bodies, connections: 32, durationSec: 5 });
 */
export async function closedLoop(opts: {
  url: string;
  bodies: string[];
  connections: number;
  durationSec: number;
  /** Send exactly this many requests instead of running for `durationSec`; still stopped after `maxSec`. */
  amount?: number;
  maxSec?: number;
  /** Sent with every request besides Content-Type (e.g. Authorization). */
  headers?: Record<string, string>;
}): Promise<ThroughputResult> {
  const path = new URL(opts.url).pathname;
  const headers = { ...JSON_HEADERS, ...opts.headers };
  const requests = opts.bodies.map((body) => ({ method: 'POST', path, headers, body }));
  const meter = cpuMeter();
  const instance = autocannon({
    url: opts.url,
    connections: opts.connections,
    timeout: 10,
    requests,
    ...(opts.amount === undefined ? { duration: opts.durationSec } : { amount: opts.amount }),
  });
  const guard = setTimeout(() => instance.stop(), (opts.maxSec ?? opts.durationSec + 30) * 1000);
  let r: Awaited<typeof instance>;
  try {
    r = await instance;
  } finally {
    clearTimeout(guard);
  }
  const genCpuPct = meter();
  const ok = r['2xx'];
  const failed = r.errors + r.timeouts + r.non2xx;
  return { rps: ok / r.duration, p50Ms: r.latency.p50, p99Ms: r.latency.p99, failed, total: ok + failed, genCpuPct };
}

export interface RateResult {
  /** Requests the schedule asked for. */
  scheduled: number;
  ok: number;
  failed: number;
  /** Latency from each request's scheduled send time (so a stalled server cannot hide its queue). */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** p99 of how late the generator sent versus the schedule; when high, the generator (not the server) was behind. */
  sendLagP99Ms: number;
  genCpuPct: number;
  /** A sample of failure reasons (status codes or error codes), bounded. */
  failures: string[];
}

/**
 * Open-loop constant rate: requests are due at fixed times whatever the server does, and latency is measured
 * from the due time, which avoids coordinated omission. Requests still unanswered 15 s after the schedule ends count as failed.
 * @example const r = await openLoop({ url, bodies, rate: 2000, durationSec: 5 });
 */
export async function openLoop(opts: {
  url: string;
  bodies: string[];
  rate: number;
  durationSec: number;
  connections?: number;
  maxInFlight?: number;
  /** Leading share of the schedule whose latencies are not recorded (connection set-up, JIT warm-up); default 0.1. */
  warmupShare?: number;
  /** Sent with every request besides Content-Type (e.g. Authorization). */
  headers?: Record<string, string>;
}): Promise<RateResult> {
  const url = new URL(opts.url);
  const headers = { ...JSON_HEADERS, ...opts.headers };
  const pool = new Pool(url.origin, {
    connections: opts.connections ?? 64,
    pipelining: 1,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const total = Math.max(1, Math.min(Math.round(opts.rate * opts.durationSec), 5_000_000));
  const maxInFlight = opts.maxInFlight ?? 20_000;
  const latencies = new Float64Array(total);
  const lags = new Float64Array(total);
  const failures: string[] = [];
  let ok = 0;
  let failed = 0;
  let sent = 0;
  let inFlight = 0;
  const intervalMs = 1000 / opts.rate;
  const warmup = Math.floor(total * (opts.warmupShare ?? 0.1));
  let recorded = 0;
  const meter = cpuMeter();
  const start = performance.now();
  let finished = false;
  const fail = (why: string) => {
    if (finished) return; // requests cut off at the deadline are already counted
    failed++;
    if (failures.length < 20) failures.push(why);
  };
  const fire = (seq: number) => {
    const due = start + seq * intervalMs;
    if (seq >= warmup) lags[seq - warmup] = performance.now() - due;
    inFlight++;
    pool
      .request({
        path: url.pathname,
        method: 'POST',
        headers,
        body: opts.bodies[seq % opts.bodies.length]!,
      })
      .then(async (res) => {
        await res.body.dump();
        if (finished) return;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          ok++;
          if (seq >= warmup) latencies[recorded++] = performance.now() - due;
        } else fail(`status ${res.statusCode}`);
      })
      .catch((err: NodeJS.ErrnoException) => fail(err.code ?? err.message))
      .finally(() => inFlight--);
  };
  // Hard stop well after the schedule ends, so a hung server cannot hang the bench.
  const deadline = start + opts.durationSec * 1000 + 15_000;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - start) / intervalMs) + 1);
      while (sent < due) {
        if (inFlight >= maxInFlight) {
          fail('generator in-flight cap');
          sent++;
          continue;
        }
        fire(sent++);
      }
      if ((sent >= total && inFlight === 0) || now > deadline) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  const genCpuPct = meter();
  finished = true;
  failed += inFlight; // still unanswered at the deadline
  if (inFlight > 0 && failures.length < 20) failures.push(`${inFlight} unanswered at the deadline`);
  await pool.destroy();
  const got = latencies.subarray(0, recorded).sort();
  const lag = lags.subarray(0, Math.max(0, Math.min(sent, total) - warmup)).sort();
  return {
    scheduled: total,
    ok,
    failed,
    p50Ms: percentile(got, 0.5),
    p99Ms: percentile(got, 0.99),
    maxMs: got.length ? got[got.length - 1]! : NaN,
    sendLagP99Ms: percentile(lag, 0.99),
    genCpuPct,
    failures,
  };
}
