// Storage choice, measured: hookroute's segment journal against lmdb on fsync'd accepted events/s and on recovering a big backlog.
// Run: npm run bench:storage [-- --quick] [--events N] [--backlog N] [--concurrency N]
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { open as openLmdb } from 'lmdb';
import { Metrics } from '../src/admin/metrics.ts';
import { Journal } from '../src/journal/journal.ts';
import { OwedIndex } from '../src/journal/owed-index.ts';
import { silentLogger } from '../src/log.ts';
import { benchDir } from './harness/paths.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    backlog: { type: 'string' },
    concurrency: { type: 'string', default: '256' },
  },
});
const events = Number(args.events ?? (args.quick ? 3000 : 50_000));
const backlog = Number(args.backlog ?? (args.quick ? 5000 : 1_000_000));
const concurrency = Number(args.concurrency);
const LANE = 'alerts/http';

/** A realistic ~1 KB Iterable emailSend body (the size the journal mostly sees). */
function body(n: number): Buffer {
  const doc = {
    eventName: 'emailSend',
    email: `user${n}@example.com`,
    createdAt: '2026-11-27 17:00:00 +00:00',
    campaignId: 1_234_567,
    templateId: 7_654_321,
    messageId: `0f3c9a${n.toString(16).padStart(10, '0')}b2e44d1c`,
    emailSubject: 'Your weekly digest: three things we think you will like',
    campaignName: 'Weekly digest - EU - variant B',
    workflowId: null,
    workflowName: null,
    templateName: 'digest-2026-v3',
    channelId: 1234,
    messageTypeId: 5678,
    experimentId: null,
    contentId: 998_877,
    dataFields: {
      email: `user${n}@example.com`,
      userId: `u-${n}`,
      locale: 'en-GB',
      catalogCollectionCount: 3,
      productRecommendationCount: 5,
      transactionalData: {
        orderId: `ORD-${n}`,
        items: [
          { sku: 'SKU-1', qty: 1, price: 19.99 },
          { sku: 'SKU-2', qty: 2, price: 5.49 },
        ],
      },
      messageTypeName: 'Marketing',
      channelName: 'Email',
      utm: { source: 'iterable', medium: 'email', campaign: 'weekly-digest', content: 'hero-cta' },
    },
    padding: 'x'.repeat(240),
  };
  return Buffer.from(JSON.stringify(doc));
}

interface Row {
  store: string;
  test: string;
  figure: string;
  note: string;
}

/** Keep `concurrency` writes in flight until `total` are done, like many requests waiting for their 200. */
async function pump(total: number, write: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) await write(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return performance.now() - started;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

async function journalThroughput(dir: string, bodies: Buffer[]): Promise<Row> {
  const metrics = new Metrics({ processMetrics: false });
  const journal = await Journal.open(
    { dir, fsync: 'batch', segmentBytes: 64 << 20, metrics, logger: silentLogger },
    () => {},
  );
  const ms = await pump(
    bodies.length,
    (i) => journal.appendEvent({ receivedAt: Date.now(), eventName: 'emailSend', raw: bodies[i]! }).durable,
  );
  const fsyncs = (await metrics.journalFsyncs.get()).values[0]?.value ?? 0;
  await journal.close();
  return {
    store: 'segment journal',
    test: `accept ${bodies.length} × 1 KB, fsync on`,
    figure: `${Math.round((bodies.length / ms) * 1000)} events/s`,
    note: `${fsyncs} fsyncs (group commit)`,
  };
}

/**
 * lmdb resolves a put when its transaction commits; with overlappingSync (the default off Windows) the flush comes later.
 * A durable 200 must wait for `flushed`, so that is the fair figure; the commit-only one is shown for reference.
 */
async function lmdbThroughput(dir: string, bodies: Buffer[], durable: boolean): Promise<Row> {
  const db = openLmdb({ path: dir, encoding: 'binary', compression: false, separateFlushed: true });
  const ms = await pump(bodies.length, async (i) => {
    const committed = db.put(i + 1, bodies[i]!) as Promise<boolean> & { flushed?: Promise<unknown> };
    await committed;
    if (durable) await committed.flushed;
  });
  await db.close();
  return {
    store: 'lmdb',
    test: `accept ${bodies.length} × 1 KB, ${durable ? 'fsync on (await flushed)' : 'commit only (NOT durable)'}`,
    figure: `${Math.round((bodies.length / ms) * 1000)} events/s`,
    note: 'async puts batched per transaction on its own thread',
  };
}

/** Fill a journal the way the engine would: events plus one ROUTED record per 256 events, all owed to one (down) sink. */
async function fillJournal(dir: string, n: number, sample: Buffer[]): Promise<number> {
  const journal = await Journal.open(
    {
      dir,
      fsync: 'off',
      segmentBytes: 64 << 20,
      metrics: new Metrics({ processMetrics: false }),
      logger: silentLogger,
    },
    () => {},
  );
  let batch: { id: number; lanes: string[] }[] = [];
  let pending: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const { id, durable } = journal.appendEvent({
      receivedAt: Date.now(),
      eventName: 'emailSend',
      raw: sample[i % sample.length]!,
    });
    pending.push(durable);
    batch.push({ id, lanes: [LANE] });
    if (batch.length === 256) {
      pending.push(journal.appendRouted(batch));
      batch = [];
    }
    if (pending.length >= 4096) {
      await Promise.all(pending);
      pending = [];
    }
  }
  if (batch.length) pending.push(journal.appendRouted(batch));
  await Promise.all(pending);
  const bytes = journal.bytes;
  await journal.close();
  return bytes;
}

async function journalRecovery(dir: string, n: number, sample: Buffer[]): Promise<Row> {
  const bytes = await fillJournal(dir, n, sample);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const index = new OwedIndex();
  const journal = await Journal.open(
    {
      dir,
      fsync: 'batch',
      segmentBytes: 64 << 20,
      metrics: new Metrics({ processMetrics: false }),
      logger: silentLogger,
    },
    (r) => {
      if (r.type === 'event') index.addEvent(r.id, r);
      else if (r.type === 'routed') for (const e of r.entries) index.setRouted(e.id, e.lanes);
      else for (const id of r.ids) index.finish(id, r.lane);
    },
  );
  const ms = performance.now() - started;
  global.gc?.();
  const rssAfter = process.memoryUsage().rss;
  if (index.owedBy(LANE) !== n) throw new Error(`recovered ${index.owedBy(LANE)} owed deliveries, expected ${n}`);
  await journal.close();
  return {
    store: 'segment journal',
    test: `recover ${n} owed events (${mb(bytes)})`,
    figure: `${(ms / 1000).toFixed(2)} s`,
    note: `scan + CRC + owed index; RSS +${mb(Math.max(0, rssAfter - rssBefore))} after`,
  };
}

async function lmdbRecovery(dir: string, n: number, sample: Buffer[]): Promise<Row> {
  const setup = openLmdb({ path: dir, encoding: 'binary', compression: false, noSync: true });
  for (let i = 0; i < n; i += 4096) {
    await setup.transaction(() => {
      for (let j = i; j < Math.min(n, i + 4096); j++) void setup.put(j + 1, sample[j % sample.length]!);
    });
  }
  await setup.close();
  const started = performance.now();
  const db = openLmdb({ path: dir, encoding: 'binary', compression: false });
  // Rebuilding delivery state needs every key and the owed lanes; reading the values too matches what the journal scan does.
  let count = 0;
  let bytes = 0;
  for (const { value } of db.getRange({})) {
    count++;
    bytes += (value as Buffer).length;
  }
  const ms = performance.now() - started;
  await db.close();
  if (count !== n) throw new Error(`lmdb recovered ${count}, expected ${n}`);
  return {
    store: 'lmdb',
    test: `recover ${n} owed events (${mb(bytes)} values)`,
    figure: `${(ms / 1000).toFixed(2)} s`,
    note: 'open + full cursor scan',
  };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'hookroute-bench-storage-'));
  const rows: Row[] = [];
  try {
    const bodies = Array.from({ length: events }, (_, i) => body(i));
    const sample = bodies.slice(0, 1000);
    console.error(
      `storage bench: ${events} events at concurrency ${concurrency}, recovery of ${backlog} events (body ${bodies[0]!.length} bytes)`,
    );
    // Warm both code paths up first so neither pays for the JIT in its figure.
    await journalThroughput(join(root, 'w1'), bodies.slice(0, 2000));
    await lmdbThroughput(join(root, 'w2'), bodies.slice(0, 2000), true);
    rows.push(await journalThroughput(join(root, 'j1'), bodies));
    rows.push(await lmdbThroughput(join(root, 'l1'), bodies, true));
    rows.push(await lmdbThroughput(join(root, 'l1b'), bodies, false));
    rows.push(await journalRecovery(join(root, 'j2'), backlog, sample));
    await rm(join(root, 'j2'), { recursive: true, force: true });
    rows.push(await lmdbRecovery(join(root, 'l2'), backlog, sample));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const table = [
    '| store | test | result | note |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.store} | ${r.test} | ${r.figure} | ${r.note} |`),
  ].join('\n');
  console.log(table);
  const md = [
    '# Storage: segment journal vs lmdb',
    '',
    `Measured ${new Date().toISOString()} on Node ${process.version}, ${process.platform}/${process.arch}${args.quick ? ' (--quick)' : ''}.`,
    `Writes: ${events} events of about 1 KB, ${concurrency} in flight, each resolved only once durable (journal \`fsync: batch\`; lmdb: its commit promise, then \`flushed\`).`,
    `Recovery: ${backlog} events owed to a sink that is down, read back at open (page cache warm).`,
    '',
    table,
    '',
    '## Choice: the segment journal',
    '',
    "- Group commit gives it the same shape as lmdb's batched transactions (one write and one fsync for everything that",
    '  arrived during the previous fsync), and both land in the same range here; the journal writes the raw request bytes',
    '  once, sequentially, with no B-tree pages or copy-on-write.',
    '- lmdb resolves a put at commit; with `overlappingSync` (its default off Windows) durability comes later, so an honest 200',
    '  has to wait for `flushed` as well. The journal resolves exactly when its fdatasync returns.',
    '- Draining is deleting whole segment files oldest-first: space comes back at once, where lmdb keeps its file size and',
    '  reuses free pages.',
    '- Recovery is one sequential, checksummed read per segment; a torn tail is cut and logged. Memory after recovery is a',
    '  few bytes per owed event (offsets, counts, one bit per lane), so a long outage costs disk, not RSS.',
    '- No native module to build or ship.',
    '',
  ].join('\n');
  if (args.quick) return; // CI smoke run: the figures are too small to keep
  await mkdir(join(benchDir, 'results'), { recursive: true });
  await writeFile(join(benchDir, 'results', 'storage.md'), md);
}

await main();
