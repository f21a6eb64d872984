// The standard measurement of an ingress: peak throughput (closed loop), then latency at half that peak (open loop).
import { Unavailable, type BenchContext, type Figures, type RunOutput } from '../scenarios/types.ts';
import { closedLoop, openLoop } from './load.ts';
import { cpuPer } from './proc-cpu.ts';

/** More failed requests than this share makes the figures meaningless (a 404 is fast but proves nothing). */
const MAX_FAILED_SHARE = 0.01;

/**
 * Measure `url` served by process `pid`: `rps`, `p50Ms`, `p99Ms` and `cpuUsPerReq` (the server's CPU µs, all
 * threads, per 2xx answer) at `ctx.connections`; with `sweep`, the same at each of `ctx.sweepConnections`
 * (`c16Rps`, `c16P99Ms`, `c16CpuUsPerReq`, ...); then `p99AtHalfMs` at half the best peak rate.
 * Notes carry the failure reasons seen at half peak.
 * @example const { figures, notes } = await measureIngress(ctx, 'http://127.0.0.1:3000/webhook', pid, { sweep: true });
 */
export async function measureIngress(
  ctx: BenchContext,
  url: string,
  pid: number,
  opts: { sweep?: boolean; headers?: Record<string, string> } = {},
): Promise<RunOutput & { notes: string[] }> {
  // Only the main connection count decides whether the server is usable; a sweep point records its failures.
  const peakAt = async (connections: number, strict = true) => {
    const { result, usPer } = await cpuPer(
      pid,
      () => closedLoop({ url, headers: opts.headers, bodies: ctx.bodies, connections, durationSec: ctx.throughputSec }),
      (r) => r.total - r.failed,
    );
    if (strict && (result.total === 0 || result.failed > result.total * MAX_FAILED_SHARE)) {
      throw new Unavailable(`${result.failed} of ${result.total} requests failed at peak load (${connections} conns)`);
    }
    return { ...result, cpuUsPerReq: usPer };
  };
  const peak = await peakAt(ctx.connections);
  const figures: Figures = {
    rps: peak.rps,
    p50Ms: peak.p50Ms,
    p99Ms: peak.p99Ms,
    cpuUsPerReq: peak.cpuUsPerReq,
  };
  let best = peak.rps;
  let failed = peak.failed;
  let accepted = peak.total - peak.failed;
  for (const connections of opts.sweep ? ctx.sweepConnections : []) {
    if (connections === ctx.connections) continue;
    const r = await peakAt(connections, false);
    figures[`c${connections}Rps`] = r.rps;
    figures[`c${connections}Failed`] = r.failed;
    figures[`c${connections}P99Ms`] = r.p99Ms;
    figures[`c${connections}CpuUsPerReq`] = r.cpuUsPerReq;
    best = Math.max(best, r.rps);
    failed += r.failed;
    accepted += r.total - r.failed;
  }
  const halfRate = Math.max(10, Math.round(best / 2));
  const { result: half, usPer: halfUs } = await cpuPer(
    pid,
    () => openLoop({ url, headers: opts.headers, bodies: ctx.bodies, rate: halfRate, durationSec: ctx.latencySec }),
    (r) => r.ok,
  );
  const reasons = [...new Set(half.failures)].slice(0, 5);
  Object.assign(figures, {
    failed: failed + half.failed,
    accepted: accepted + half.ok,
    genCpuPct: peak.genCpuPct,
    halfRateRps: halfRate,
    p50AtHalfMs: half.p50Ms,
    p99AtHalfMs: half.p99Ms,
    maxAtHalfMs: half.maxMs,
    cpuUsPerReqAtHalf: halfUs,
    genCpuAtHalfPct: half.genCpuPct,
    sendLagP99AtHalfMs: half.sendLagP99Ms,
  });
  return { figures, notes: reasons.length ? [`failed at half peak: ${reasons.join(', ')}`] : [] };
}
