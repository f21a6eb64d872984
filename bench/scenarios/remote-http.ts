// Scenario `remote-http`: an http destination 50 ms away (latency added in the receiver), on the sink's defaults and with
// `batch: {maxEvents: 500}`: delivered events/s, where the adaptive concurrency settled, drain time, RSS. Issue 11.
import { createServer, type Server } from 'node:http';
import { request } from 'undici';
import { startDaemon, type Daemon } from '../harness/daemon.ts';
import { closedLoop } from '../harness/load.ts';
import { sampleRss } from '../harness/rss.ts';
import { Unavailable, type BenchContext, type Figures, type Scenario } from './types.ts';

/** What the receiver waits before answering: a destination across a network. */
const LATENCY_MS = 50;

/** A receiver that answers every request after LATENCY_MS and counts the events in it (a JSON array counts each). */
async function remoteReceiver(): Promise<{ url: string; events(): number; close(): Promise<void> }> {
  let events = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          events += Array.isArray(body) ? body.length : 1;
        } catch {
          events++;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      }, LATENCY_MS);
    });
  });
  server.keepAliveTimeout = 30_000;
  server.maxRequestsPerSocket = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/in`,
    events: () => events,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** The one sink's adaptive limit and backlog (events owed) as `GET /pipelines` shows them. */
async function laneView(daemon: Daemon): Promise<{ limit: number; owed: number }> {
  try {
    const res = await request(`${daemon.adminUrl}/pipelines`, { headersTimeout: 5000 });
    const view = (await res.body.json()) as {
      pipelines: { sinks: { concurrency?: { limit?: number }; owed?: number }[] }[];
    };
    const sink = view.pipelines[0]?.sinks[0];
    return { limit: sink?.concurrency?.limit ?? NaN, owed: sink?.owed ?? NaN };
  } catch {
    return { limit: NaN, owed: NaN };
  }
}

/** Post `events` as fast as the generator can to a daemon forwarding them to the 50 ms receiver; time the delivery. */
async function phase(ctx: BenchContext, events: number, sinkExtra: string[]): Promise<Figures> {
  const receiver = await remoteReceiver();
  try {
    const pipeline = [
      'name: remote',
      'sinks:',
      '  - type: http',
      `    url: ${JSON.stringify(receiver.url)}`,
      ...sinkExtra,
    ];
    const daemon = await startDaemon(ctx, { pipelines: () => ({ 'remote.yaml': `${pipeline.join('\n')}\n` }) });
    const rss = sampleRss(daemon.pid, 250);
    const limits: number[] = [];
    let backlogPeak = 0;
    const poll = setInterval(
      () =>
        void laneView(daemon).then((v) => {
          if (Number.isFinite(v.limit)) limits.push(v.limit);
          if (Number.isFinite(v.owed)) backlogPeak = Math.max(backlogPeak, v.owed);
        }),
      250,
    );
    try {
      const t0 = performance.now();
      const load = await closedLoop({
        url: daemon.url,
        bodies: ctx.bodies,
        connections: ctx.connections,
        durationSec: 600,
        amount: events,
        maxSec: 600,
      });
      const loadMs = performance.now() - t0;
      const accepted = load.total - load.failed;
      if (accepted === 0) throw new Unavailable(`no event accepted (${load.failed} failed)`);
      const expected = accepted + 1; // +1: the readiness probe event
      const deadline = performance.now() + (ctx.quick ? 120_000 : 900_000);
      while (receiver.events() < expected && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const doneMs = performance.now() - t0;
      const delivered = receiver.events();
      return {
        accepted,
        failed: load.failed,
        ingestRps: accepted / (loadMs / 1000),
        deliveredRps: delivered / (doneMs / 1000),
        drainMs: doneMs,
        drainAfterLoadMs: doneMs - loadMs,
        lost: Math.max(0, expected - delivered),
        concurrencyEnd: (await laneView(daemon)).limit,
        concurrencyMax: limits.length ? Math.max(...limits) : NaN,
        // Events owed but not yet delivered, at most: near 0 means delivery kept up with ingest (ingest was the limit).
        backlogPeak,
        rssPeakMb: rss.peakMb(),
      };
    } finally {
      clearInterval(poll);
      rss.stop();
      await daemon.stop();
    }
  } finally {
    await receiver.close();
  }
}

export const remoteHttp: Scenario = {
  name: 'remote-http',
  kind: 'scenario',
  measures: `http sink to a receiver answering after ${LATENCY_MS} ms, N events posted at peak: delivered events/s on the defaults (adaptive concurrency) and with batch {maxEvents: 500}, the limit reached, drain time, RSS. Targets: defaults ≥ 1,500 events/s; batched deliveredRps ≥ 0.9 × its own ingestRps; 0 lost`,
  async run(ctx) {
    const events = ctx.quick ? 300 : 50_000;
    const defaults = await phase(ctx, events, []);
    const batched = await phase(ctx, events, ['    batch: { maxEvents: 500 }']);
    const figures: Figures = { events, latencyMs: LATENCY_MS };
    for (const [k, v] of Object.entries(defaults)) figures[`defaults${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
    for (const [k, v] of Object.entries(batched)) figures[`batched${k[0]!.toUpperCase()}${k.slice(1)}`] = v;
    figures.batchedVsIngestPct = (100 * batched.deliveredRps!) / batched.ingestRps!;
    const notes = [
      `defaults: ${Math.round(defaults.deliveredRps!)} events/s delivered (target ≥ 1500: ${defaults.deliveredRps! >= 1500 ? 'met' : 'not met'}), adaptive limit ${defaults.concurrencyEnd} at the end (max ${defaults.concurrencyMax})`,
      `batched: ${Math.round(batched.deliveredRps!)} events/s delivered vs ${Math.round(batched.ingestRps!)} accepted/s (target ≥ 0.9×: ${batched.deliveredRps! >= 0.9 * batched.ingestRps! ? 'met' : 'not met'})`,
      `lost: ${defaults.lost! + batched.lost!}; backlog peak ${defaults.backlogPeak} (defaults), ${batched.backlogPeak} (batched): near 0 means delivery kept up and the ingest rate was the limit`,
    ];
    return { figures, notes };
  },
};
