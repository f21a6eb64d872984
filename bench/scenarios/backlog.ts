// Scenario `backlog`: the sink target is down while N events arrive, then comes up; memory must stay bounded
// (the backlog belongs on disk) and everything must be delivered afterwards.
import { startDaemon } from '../harness/daemon.ts';
import { freePort } from '../harness/free-port.ts';
import { closedLoop } from '../harness/load.ts';
import { httpPipeline } from '../harness/pipeline-files.ts';
import { startReceiver } from '../harness/receiver.ts';
import { sampleRss } from '../harness/rss.ts';
import { Unavailable, type Scenario } from './types.ts';

export const backlog: Scenario = {
  name: 'backlog',
  kind: 'scenario',
  measures:
    'http sink target refuses connections while N events arrive, then listens: daemon RSS over time, drain time, all delivered; target RSS ≤ 150 MB at 1M events',
  async run(ctx) {
    // Nobody listens on this port until the outage ends, so every delivery attempt gets ECONNREFUSED.
    const targetPort = await freePort();
    const daemon = await startDaemon(ctx, { pipelines: () => httpPipeline(`http://127.0.0.1:${targetPort}/in`) });
    const rss = sampleRss(daemon.pid, ctx.quick ? 100 : 500);
    try {
      const maxSec = ctx.quick ? 60 : 3600;
      const load = await closedLoop({
        url: daemon.url,
        bodies: ctx.bodies,
        connections: ctx.connections,
        durationSec: maxSec,
        amount: ctx.backlogEvents,
        maxSec,
      });
      const accepted = load.total - load.failed;
      if (accepted === 0) throw new Unavailable(`no event accepted during the outage (${load.failed} failed)`);
      const rssAtOutageEndMb = rss.peakMb();
      const outageMs = rss.samples.at(-1)?.[0] ?? 0;
      const receiver = await startReceiver(targetPort);
      try {
        const expected = accepted + 1; // +1: the readiness probe event
        const t0 = performance.now();
        await receiver.waitFor(expected, ctx.quick ? 60_000 : 1_800_000);
        const drainMs = performance.now() - t0;
        const delivered = receiver.count();
        return {
          figures: {
            events: ctx.backlogEvents,
            accepted,
            failed: load.failed,
            ingestRps: load.rps,
            outageMs,
            rssPeakDuringOutageMb: rssAtOutageEndMb,
            rssPeakMb: rss.peakMb(),
            drainMs,
            delivered,
            undelivered: Math.max(0, expected - delivered),
            genCpuPct: load.genCpuPct,
          },
          series: { rssMb: rss.samples },
        };
      } finally {
        await receiver.close();
      }
    } finally {
      rss.stop();
      await daemon.stop();
    }
  },
};
