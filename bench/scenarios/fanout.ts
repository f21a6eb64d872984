// Scenario `fanout`: one pipeline delivering every event to 5 file sinks.
import { startDaemon } from '../harness/daemon.ts';
import { measureIngress } from '../harness/measure.ts';
import { fanoutPipeline } from '../harness/pipeline-files.ts';
import { waitForSinkLines } from '../harness/sink-files.ts';
import type { Scenario } from './types.ts';

const SINKS = 5;

export const fanout: Scenario = {
  name: 'fanout',
  kind: 'scenario',
  measures: `one event to ${SINKS} file sinks: ingress rate, and time until every sink has every event`,
  async run(ctx) {
    const daemon = await startDaemon(ctx, { pipelines: (out) => fanoutPipeline(SINKS, out) });
    try {
      const { figures, notes } = await measureIngress(ctx, daemon.url, daemon.pid);
      const expected = (figures.accepted! + 1) * SINKS; // +1: the readiness probe event
      const { lines, drainMs } = await waitForSinkLines(daemon.outDir, expected, 5000, ctx.quick ? 20_000 : 300_000);
      return {
        figures: { ...figures, expectedLines: expected, deliveredLines: lines, drainAfterLoadMs: drainMs },
        notes,
      };
    } finally {
      await daemon.stop();
    }
  },
};
