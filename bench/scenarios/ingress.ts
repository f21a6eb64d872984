// Scenario `ingress`: the daemon's accept path alone (validate + journal with batched fsync), no pipelines.
import { startDaemon } from '../harness/daemon.ts';
import { measureIngress } from '../harness/measure.ts';
import type { Scenario } from './types.ts';

export const ingress: Scenario = {
  name: 'ingress',
  kind: 'scenario',
  measures:
    'validate + journal (fsync: batch), no pipelines; target ≥ 0.85 × durable-ceiling at 64 and 256 conns, p99 ≤ 5 ms at half peak',
  async run(ctx) {
    const daemon = await startDaemon(ctx, { pipelines: () => ({}), fsync: 'batch' });
    try {
      return await measureIngress(ctx, daemon.url, daemon.pid, { sweep: true });
    } finally {
      await daemon.stop();
    }
  },
};
