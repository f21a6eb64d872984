// Scenarios `ingress` and `ingress-node`: the daemon's accept path alone (validate + journal with batched fsync), no pipelines,
// on the engine `auto` picks (native uWS where it loads) and on node:http, so the two engines compare in one run.
import { startDaemon } from '../harness/daemon.ts';
import { measureIngress } from '../harness/measure.ts';
import type { BenchContext, RunOutput, Scenario } from './types.ts';

async function acceptPath(ctx: BenchContext, engine: 'auto' | 'node'): Promise<RunOutput> {
  const daemon = await startDaemon(ctx, { pipelines: () => ({}), fsync: 'batch', engine });
  try {
    return await measureIngress(ctx, daemon.url, daemon.pid, { sweep: true });
  } finally {
    await daemon.stop();
  }
}

export const ingress: Scenario = {
  name: 'ingress',
  kind: 'scenario',
  measures:
    'validate + journal (fsync: batch), no pipelines; target ≥ 0.85 × durable-ceiling at 64 and 256 conns, p99 ≤ 5 ms at half peak',
  run: (ctx) => acceptPath(ctx, 'auto'),
};

export const ingressNode: Scenario = {
  name: 'ingress-node',
  kind: 'scenario',
  measures: 'the `ingress` scenario on `server.engine: node` (node:http): what Node versions without a uWS binary get',
  run: (ctx) => acceptPath(ctx, 'node'),
};
