// Dedupe memory, measured: N distinct Iterable events through a `dedupe: true` pipeline of a real engine (journal, seen log).
// Run: npm run bench:dedupe [-- --events 1000000] [--quick] [--off]   (--off: the same pipeline without dedupe, the baseline)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { Metrics } from '../src/admin/metrics.ts';
import { DeliveryEngine } from '../src/delivery/engine.ts';
import type { EngineLane } from '../src/delivery/lane-feed.ts';
import type { EventRecord } from '../src/events/record.ts';
import { silentLogger } from '../src/log.ts';
import { compilePipelineFile } from '../src/pipelines/compile-file.ts';
import { Router } from '../src/pipelines/router.ts';
import { BUILT_IN_SINKS, createSinkRegistry } from '../src/sinks/registry.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    off: { type: 'boolean', default: false },
    events: { type: 'string' },
  },
});
const events = Number(args.events ?? (args.quick ? 100_000 : 1_000_000));
const BATCH = 2000;

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const sinkTypes = createSinkRegistry(BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' })));
const text = stringify({ name: 'bounces', dedupe: !args.off, sinks: [{ type: 'stdout' }] });
const compiled = compilePipelineFile({
  file: '/b.yaml',
  displayFile: 'b.yaml',
  baseDir: '/',
  text,
  sinkTypes,
  env: {},
  evalTimeoutMs: 1000,
});
const router = new Router(1, [compiled.pipeline!]);

/** A lane whose destination answers at once: each event is finished as soon as it is pushed. */
function instantLane(settle: (e: EventRecord) => void): EngineLane {
  return {
    size: 0,
    hasRoom: true,
    push: (e) => queueMicrotask(() => settle(e)),
    onRoom: () => {},
    drain: async () => {},
    close: () => {},
  };
}

const dir = await mkdtemp(join(tmpdir(), 'hookroute-bench-dedupe-'));
let delivered = 0;
const engine = await DeliveryEngine.open({
  storage: { dir, fsync: 'off', maxDiskBytes: 2 ** 40, segmentBytes: 64 << 20 },
  table: () => router,
  createLane: (_spec, onSettled) =>
    instantLane((e) => {
      delivered++;
      onSettled(e, 'delivered');
    }),
  deadLetters: { append: async () => {} },
  metrics: new Metrics({ processMetrics: false }),
  logger: silentLogger,
});
engine.start();

gc();
const before = process.memoryUsage();
let peakRss = before.rss;
const started = performance.now();
for (let n = 0; n < events; n += BATCH) {
  const batch: Promise<void>[] = [];
  for (let i = n; i < Math.min(events, n + BATCH); i++) {
    const body = {
      email: `user${i}@example.com`,
      eventName: 'emailBounce',
      dataFields: {
        email: `user${i}@example.com`,
        campaignId: 59667,
        messageId: i.toString(16).padStart(32, '0'),
        createdAt: '2016-12-02 20:21:04 +00:00',
        recipientState: 'HardBounce',
      },
    };
    batch.push(
      engine.accept({ receivedAt: Date.now(), eventName: 'emailBounce', raw: Buffer.from(JSON.stringify(body)), body }),
    );
  }
  await Promise.all(batch);
  while (delivered < Math.min(events, n + BATCH) - 2 * BATCH) await new Promise((r) => setImmediate(r));
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
while (delivered < events) await new Promise((r) => setTimeout(r, 5));
const seconds = (performance.now() - started) / 1000;
gc();
const after = process.memoryUsage();
const { keys, deduplicated } = engine.dedupeStats('bounces');
console.log(
  JSON.stringify(
    {
      dedupe: !args.off,
      events,
      keysHeld: keys,
      deduplicated,
      seconds: Number(seconds.toFixed(1)),
      eventsPerSecond: Math.round(events / seconds),
      rssBefore: mb(before.rss),
      rssAfter: mb(after.rss),
      rssPeak: mb(peakRss),
      rssGrowth: mb(after.rss - before.rss),
      heapUsedGrowth: mb(after.heapUsed - before.heapUsed),
      arrayBuffersGrowth: mb(after.arrayBuffers - before.arrayBuffers),
      rssGrowthPerEvent: Math.round((after.rss - before.rss) / events),
    },
    null,
    1,
  ),
);
await engine.shutdown(1000);
await rm(dir, { recursive: true, force: true });
