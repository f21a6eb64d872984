// The standard measurement of an ingress: peak throughput (closed loop), then latency at half that peak (open loop).
import { Unavailable, type BenchContext, type Figures, type RunOutput } from '../scenarios/types.ts';
import { closedLoop, openLoop } from './load.ts';

/** More failed requests than this share makes the figures meaningless (a 404 is fast but proves nothing). */
const MAX_FAILED_SHARE = 0.01;

/**
 * Measure `url`: `rps`, `p50Ms`, `p99Ms` at peak, `p99AtHalfMs` at half the peak rate, failures and generator CPU.
 * Notes carry the failure reasons seen at half peak.
 * @example const { figures, notes } = await measureIngress(ctx, 'http://127.0.0.1:3000/webhook');
 */
export async function measureIngress(ctx: BenchContext, url: string): Promise<RunOutput & { notes: string[] }> {
  const peak = await closedLoop({
    url,
    bodies: ctx.bodies,
    connections: ctx.connections,
    durationSec: ctx.throughputSec,
  });
  if (peak.total === 0 || peak.failed > peak.total * MAX_FAILED_SHARE) {
    throw new Unavailable(`${peak.failed} of ${peak.total} requests failed at peak load`);
  }
  const halfRate = Math.max(10, Math.round(peak.rps / 2));
  const half = await openLoop({ url, bodies: ctx.bodies, rate: halfRate, durationSec: ctx.latencySec });
  const reasons = [...new Set(half.failures)].slice(0, 5);
  const figures: Figures = {
    rps: peak.rps,
    p50Ms: peak.p50Ms,
    p99Ms: peak.p99Ms,
    failed: peak.failed + half.failed,
    accepted: peak.total - peak.failed + half.ok,
    genCpuPct: peak.genCpuPct,
    halfRateRps: halfRate,
    p50AtHalfMs: half.p50Ms,
    p99AtHalfMs: half.p99Ms,
    maxAtHalfMs: half.maxMs,
    genCpuAtHalfPct: half.genCpuPct,
    sendLagP99AtHalfMs: half.sendLagP99Ms,
  };
  return { figures, notes: reasons.length ? [`failed at half peak: ${reasons.join(', ')}`] : [] };
}
