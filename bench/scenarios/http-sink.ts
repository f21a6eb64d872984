// Scenario `http-sink`: every event delivered by the http sink to a loopback receiver run by the harness.
import { startDaemon } from '../harness/daemon.ts';
import { measureIngress } from '../harness/measure.ts';
import { httpPipeline } from '../harness/pipeline-files.ts';
import { startReceiver } from '../harness/receiver.ts';
import type { Scenario } from './types.ts';

export const httpSink: Scenario = {
  name: 'http-sink',
  kind: 'scenario',
  measures:
    'http sink to a loopback receiver: ingress rate, received count, drain time (receiver shares the generator core)',
  async run(ctx) {
    const receiver = await startReceiver(0);
    try {
      const daemon = await startDaemon(ctx, { pipelines: () => httpPipeline(`http://127.0.0.1:${receiver.port}/in`) });
      try {
        const { figures, notes } = await measureIngress(ctx, daemon.url, daemon.pid);
        const expected = figures.accepted! + 1; // +1: the readiness probe event
        const t0 = performance.now();
        await receiver.waitFor(expected, ctx.quick ? 20_000 : 300_000);
        return {
          figures: { ...figures, expected, received: receiver.count(), drainAfterLoadMs: performance.now() - t0 },
          notes,
        };
      } finally {
        await daemon.stop();
      }
    } finally {
      await receiver.close();
    }
  },
};
