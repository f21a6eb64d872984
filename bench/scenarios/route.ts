// Scenario `route`: 20 pipelines with a realistic mix of event matches, `when` predicates, JSONata transforms, file sinks.
import { startDaemon } from '../harness/daemon.ts';
import { measureIngress } from '../harness/measure.ts';
import { mixedPipelines } from '../harness/pipeline-files.ts';
import { waitForSinkLines } from '../harness/sink-files.ts';
import type { Scenario } from './types.ts';

export const route: Scenario = {
  name: 'route',
  kind: 'scenario',
  measures: '20 pipelines (matches, when, JSONata, file sinks); target ≥ 1.0 × naive, p99 ≤ 5 ms at half peak',
  async run(ctx) {
    const daemon = await startDaemon(ctx, { pipelines: (out) => mixedPipelines(20, out) });
    try {
      const { figures, notes } = await measureIngress(ctx, daemon.url, daemon.pid, { sweep: true });
      // Which pipelines match depends on the mix, so there is no exact expected count: wait until output settles.
      const { lines, drainMs } = await waitForSinkLines(
        daemon.outDir,
        Number.POSITIVE_INFINITY,
        ctx.quick ? 1000 : 3000,
        ctx.quick ? 20_000 : 300_000,
      );
      return { figures: { ...figures, deliveredLines: lines, drainAfterLoadMs: drainMs }, notes };
    } finally {
      await daemon.stop();
    }
  },
};
