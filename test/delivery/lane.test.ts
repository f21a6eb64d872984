import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Metrics } from '../../src/admin/metrics.ts';
import type { EventRecord } from '../../src/events/record.ts';
import { silentLogger } from '../../src/log.ts';
import type { LaneSpec } from '../../src/pipelines/table.ts';
import type { DeliveryMeta, SendOutcome, SinkInstance } from '../../src/sinks/define.ts';
import { createHttpSink } from '../../src/sinks/http.ts';
import { DeadLetterStore, type DeadLetter } from '../../src/dead-letters/store.ts';
import { Lane, type LaneDeps } from '../../src/delivery/lane.ts';
import { laneSpec } from '../fixtures/lanes.ts';

type Overrides = {
  retry?: Partial<LaneSpec['retry']>;
  queue?: Partial<LaneSpec['queue']>;
  breaker?: Partial<LaneSpec['breaker']>;
};

function spec(o: Overrides = {}): LaneSpec {
  return laneSpec('p1/s1', {
    type: 'test',
    retry: { attempts: 5, initialDelayMs: 5, maxDelayMs: 20, ...o.retry },
    queue: { concurrency: 4, capacity: 100, ...o.queue },
    breaker: { threshold: 100, cooldownMs: 50, ...o.breaker },
    fingerprint: 'f',
    source: { file: '/x.yaml', line: 1 },
  });
}

function event(id: number): EventRecord {
  const body = { eventName: 'emailSend', email: `u${id}@example.com` };
  return { id, receivedAt: 1000 + id, eventName: 'emailSend', raw: Buffer.from(JSON.stringify(body)), body };
}

class MemoryDlq {
  records: DeadLetter[] = [];
  failures = 0;
  async append(rec: DeadLetter) {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('ENOSPC');
    }
    this.records.push(rec);
  }
}

/** A sink driven by a function of the attempt; records every call. */
function scripted(
  fn: (call: number, meta: DeliveryMeta, signal: AbortSignal) => Promise<SendOutcome | void> | SendOutcome | void,
) {
  const calls: { meta: DeliveryMeta; payload: unknown; signal: AbortSignal; at: number }[] = [];
  let closed = 0;
  const sink: SinkInstance = {
    async send(payload, meta, signal) {
      calls.push({ meta, payload, signal, at: performance.now() });
      return fn(calls.length, meta, signal);
    },
    async close() {
      closed++;
    },
  };
  return { sink, calls, closed: () => closed };
}

function setup(o: Overrides, sink: SinkInstance, extra: Partial<LaneDeps> = {}) {
  const dlq = new MemoryDlq();
  const settled: { id: number; result: string; dlqSize: number }[] = [];
  let onAllSettled: (() => void) | undefined;
  let expected = 0;
  const lane = new Lane({
    spec: spec(o),
    sink,
    payload: async (e) => ({ wrapped: e.body }),
    deadLetters: dlq,
    metrics: new Metrics({ processMetrics: false }),
    logger: silentLogger,
    onSettled: (e, result) => {
      settled.push({ id: e.id, result, dlqSize: dlq.records.length });
      if (settled.length === expected) onAllSettled?.();
    },
    random: () => 0.5,
    ...extra,
  });
  const until = (n: number) =>
    new Promise<void>((resolve) => {
      expected = n;
      onAllSettled = resolve;
      if (settled.length >= n) resolve();
    });
  return { lane, dlq, settled, until };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function loopback(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('http target failing twice then succeeding: delivered once after 3 attempts', async () => {
  let hits = 0;
  const target = await loopback((_req, res) => {
    hits++;
    res.writeHead(hits <= 2 ? 503 : 200).end();
  });
  const sink = createHttpSink(
    { url: target.url, method: 'POST', timeout: '5s', maxResponseBytes: '1mb' },
    { baseDir: '/' },
  );
  const { lane, settled, until, dlq } = setup({}, sink);
  lane.push(event(1));
  await until(1);
  assert.deepEqual(
    settled.map((s) => [s.id, s.result]),
    [[1, 'delivered']],
  );
  assert.equal(hits, 3);
  assert.equal(dlq.records.length, 0);
  assert.equal(lane.stats().retried, 2);
  assert.equal(lane.stats().delivered, 1);
  assert.match(lane.stats().lastError ?? '', /503/);
  await lane.close();
  await target.close();
});

test('http 400 is dead-lettered at once, durably before onSettled', async () => {
  let hits = 0;
  const target = await loopback((_req, res) => {
    hits++;
    res.writeHead(400).end('bad');
  });
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-lane-'));
  const store = await DeadLetterStore.open(join(dir, 'dlq'));
  const sink = createHttpSink(
    { url: target.url, method: 'POST', timeout: '5s', maxResponseBytes: '1mb' },
    { baseDir: '/' },
  );
  const onDisk: number[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  const lane = new Lane({
    spec: spec(),
    sink,
    payload: async (e) => e.body,
    deadLetters: store,
    metrics: new Metrics({ processMetrics: false }),
    logger: silentLogger,
    onSettled: (_e, result) => {
      assert.equal(result, 'dead_lettered');
      void (async () => {
        for await (const r of store.list()) onDisk.push(r.eventId);
        done();
      })();
    },
  });
  lane.push(event(7));
  await finished;
  assert.equal(hits, 1);
  assert.deepEqual(onDisk, [7]);
  const all: DeadLetter[] = [];
  for await (const r of store.list()) all.push(r);
  const [rec] = all;
  assert.equal(rec?.reason, 'permanent_error');
  assert.equal(rec?.status, 400);
  assert.equal(rec?.attempts, 1);
  assert.equal(rec?.pipeline, 'p1');
  assert.equal(rec?.sink, 's1');
  assert.deepEqual(rec?.payload, event(7).body);
  assert.ok(rec?.firstAttemptAt && rec.lastAttemptAt && rec.deadAt);
  await lane.close();
  await store.close();
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

test('429 with Retry-After: the next attempt waits for it (capped by maxDelay)', async () => {
  const s = scripted((call) =>
    call === 1 ? { ok: false, retryable: true, error: 'HTTP 429', status: 429, retryAfterMs: 120 } : { ok: true },
  );
  const { lane, until } = setup({ retry: { initialDelayMs: 1, maxDelayMs: 150 } }, s.sink, { random: () => 0 });
  lane.push(event(1));
  await until(1);
  assert.equal(s.calls.length, 2);
  assert.ok(s.calls[1]!.at - s.calls[0]!.at >= 115, `waited ${s.calls[1]!.at - s.calls[0]!.at} ms`);

  const capped = scripted((call) =>
    call === 1 ? { ok: false, retryable: true, error: 'HTTP 429', status: 429, retryAfterMs: 3_600_000 } : undefined,
  );
  const c = setup({ retry: { initialDelayMs: 1, maxDelayMs: 30 } }, capped.sink, { random: () => 0 });
  c.lane.push(event(2));
  await c.until(1);
  assert.equal(capped.calls.length, 2, 'an hour-long Retry-After is capped at maxDelay');
  await lane.close();
  await c.lane.close();
});

test('a sink that hangs is timed out by the lane, aborted, and retried', async () => {
  const s = scripted((call) => (call === 1 ? new Promise(() => {}) : { ok: true }));
  const { lane, settled, until } = setup({}, s.sink, { attemptTimeoutMs: 40 });
  lane.push(event(1));
  await until(1);
  assert.equal(settled[0]?.result, 'delivered');
  assert.equal(s.calls.length, 2);
  assert.equal(s.calls[0]!.signal.aborted, true);
  assert.match(String(s.calls[0]!.signal.reason), /lane timeout/);
  assert.equal(s.calls[1]!.meta.attempt, 2);
  await lane.close();
});

test('attempts run out: dead letter with delivery_failed and the attempt count', async () => {
  const s = scripted(() => {
    throw new Error('ECONNREFUSED');
  });
  const { lane, dlq, settled, until } = setup({ retry: { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 } }, s.sink);
  lane.push(event(1));
  await until(1);
  assert.equal(s.calls.length, 3);
  assert.deepEqual(
    s.calls.map((c) => c.meta.attempt),
    [1, 2, 3],
  );
  assert.equal(settled[0]?.result, 'dead_lettered');
  assert.equal(settled[0]?.dlqSize, 1, 'stored before onSettled');
  assert.equal(dlq.records[0]?.reason, 'delivery_failed');
  assert.equal(dlq.records[0]?.attempts, 3);
  assert.equal(dlq.records[0]?.lastError, 'ECONNREFUSED');
  await lane.close();
});

test('attempts unlimited: retried past any count until delivered', async () => {
  const s = scripted((call) =>
    call < 150 ? { ok: false, retryable: true, error: 'HTTP 503', status: 503 } : undefined,
  );
  const { lane, settled, until } = setup(
    { retry: { attempts: Number.POSITIVE_INFINITY, initialDelayMs: 0, maxDelayMs: 0 } },
    s.sink,
  );
  lane.push(event(1));
  await until(1);
  assert.equal(s.calls.length, 150);
  assert.equal(settled[0]?.result, 'delivered');
  await lane.close();
});

test('retry.maxAge: a delivery failing for longer than maxAge is dead-lettered, whatever the attempts left', async () => {
  let clock = 1_000_000;
  const s = scripted(() => {
    clock += 400; // each attempt "takes" 400 ms of the lane's clock
    return { ok: false, retryable: true, error: 'HTTP 503', status: 503 };
  });
  const { lane, dlq, until } = setup(
    { retry: { attempts: Number.POSITIVE_INFINITY, initialDelayMs: 0, maxDelayMs: 0, maxAgeMs: 1000 } },
    s.sink,
    { now: () => clock },
  );
  lane.push(event(1));
  await until(1);
  assert.equal(s.calls.length, 3, 'attempts at +0, +400, +800 ms; the third ends at +1200 ms, past maxAge');
  assert.equal(dlq.records[0]?.reason, 'delivery_failed');
  assert.match(dlq.records[0]!.lastError, /HTTP 503.*retry\.maxAge/);
  await lane.close();
});

test('concurrency is respected, and a retry does not hold a slot while it waits', async () => {
  let active = 0;
  let peak = 0;
  const s = scripted(async (_call, meta) => {
    active++;
    peak = Math.max(peak, active);
    await sleep(5);
    active--;
    return meta.eventId === 1 ? { ok: false, retryable: true, error: 'HTTP 503' } : { ok: true };
  });
  // event 1 waits ~10 s to retry: if that held a slot, only one slot would serve the other 7
  const { lane, settled, until } = setup(
    { queue: { concurrency: 2 }, retry: { initialDelayMs: 10_000, maxDelayMs: 10_000 } },
    s.sink,
    { random: () => 0.99 },
  );
  for (let i = 1; i <= 8; i++) lane.push(event(i));
  await until(7);
  assert.equal(peak, 2);
  assert.deepEqual(settled.map((x) => x.id).sort(), [2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([lane.stats().waitingRetry, lane.size], [1, 1]);
  await lane.close();
});

test('rate limit: at most `count` attempts start per interval', async () => {
  const s = scripted(() => undefined);
  const { lane, until } = setup({ queue: { concurrency: 10, rate: { count: 2, intervalMs: 60 } } }, s.sink);
  for (let i = 1; i <= 6; i++) lane.push(event(i));
  await until(6);
  const at = s.calls.map((c) => c.at);
  for (let i = 2; i < at.length; i++)
    assert.ok(at[i]! - at[i - 2]! >= 50, `calls ${i - 2} and ${i} only ${at[i]! - at[i - 2]!} ms apart`);
  await lane.close();
});

test('capacity: hasRoom turns false when full; onRoom fires once it falls to half', async () => {
  const gates: (() => void)[] = [];
  const s = scripted(() => new Promise<void>((r) => gates.push(r)));
  const { lane, until } = setup({ queue: { concurrency: 4, capacity: 4 } }, s.sink);
  let rooms = 0;
  lane.onRoom(() => rooms++);
  for (let i = 1; i <= 4; i++) {
    assert.ok(lane.hasRoom);
    lane.push(event(i));
  }
  assert.equal(lane.size, 4);
  assert.equal(lane.hasRoom, false);
  while (gates.length < 4) await sleep(1);
  gates[0]!();
  await until(1);
  assert.equal(lane.size, 3);
  assert.equal(rooms, 0);
  assert.ok(lane.hasRoom);
  gates[1]!();
  await until(2);
  assert.equal(lane.size, 2);
  assert.equal(rooms, 1);
  gates[2]!();
  gates[3]!();
  await until(4);
  assert.equal(rooms, 1, 'not again until it has been above half');
  assert.equal(lane.size, 0);
  await lane.close();
});

test('breaker opens after repeated failures, pauses the lane without using attempts, probes and resumes', async () => {
  const lines: { msg: string }[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({ write: (chunk, _enc, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }),
  );
  const s = scripted((call) =>
    call <= 2 ? { ok: false, retryable: true, error: 'HTTP 502', status: 502 } : { ok: true },
  );
  const { lane, settled, until } = setup(
    {
      queue: { concurrency: 1 },
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      breaker: { threshold: 2, cooldownMs: 60 },
    },
    s.sink,
    { logger, random: () => 0 },
  );
  lane.push(event(1));
  lane.push(event(2));
  await until(2);
  assert.deepEqual(
    settled.map((x) => x.result),
    ['delivered', 'delivered'],
    'parking while open consumed no attempts',
  );
  assert.equal(s.calls.length, 4);
  assert.ok(s.calls[2]!.at - s.calls[1]!.at >= 55, 'waited for the cooldown');
  const states = lines.map((l) => l.msg).filter((m) => m.startsWith('circuit breaker'));
  assert.deepEqual(
    states.map((m) => m.split(':')[0]),
    ['circuit breaker open', 'circuit breaker half-open', 'circuit breaker closed'],
  );
  assert.equal(lane.stats().breaker, 'closed');
  await lane.close();
});

test('a transform error goes to the dead-letter queue at once, without a send', async () => {
  const s = scripted(() => undefined);
  const metrics = new Metrics({ processMetrics: false });
  const { lane, dlq, settled, until } = setup({}, s.sink, {
    metrics,
    payload: async () => {
      throw new Error('JSONata: $undefinedFn is not a function');
    },
  });
  lane.push(event(3));
  await until(1);
  assert.equal(s.calls.length, 0);
  assert.equal(settled[0]?.result, 'dead_lettered');
  assert.equal(dlq.records[0]?.reason, 'transform_error');
  assert.equal(dlq.records[0]?.attempts, 0);
  assert.equal('payload' in dlq.records[0]!, false);
  assert.match(dlq.records[0]!.lastError, /undefinedFn/);
  assert.match(
    await metrics.registry.metrics(),
    /hookroute_pipeline_errors_total\{pipeline="p1",stage="transform"\} 1/,
  );
  await lane.close();
});

test('a failing dead-letter write is retried; onSettled only after it is stored', async () => {
  const s = scripted(() => ({ ok: false, retryable: false, error: 'HTTP 404', status: 404 }));
  const { lane, dlq, settled, until } = setup({}, s.sink, { random: () => 0 });
  dlq.failures = 3;
  lane.push(event(1));
  await until(1);
  assert.equal(dlq.failures, 0);
  assert.equal(dlq.records.length, 1);
  assert.equal(settled[0]?.dlqSize, 1);
  await lane.close();
});

test('drain: in-flight attempts get the grace period, then are aborted; queued and retrying work is dropped without onSettled', async () => {
  const s = scripted((_call, meta, signal) => {
    if (meta.eventId === 1) return { ok: false, retryable: true, error: 'HTTP 503' }; // goes to retry wait
    return new Promise((resolve) =>
      signal.addEventListener('abort', () => resolve({ ok: false, retryable: true, error: 'aborted' })),
    );
  });
  const { lane, settled } = setup(
    { queue: { concurrency: 2 }, retry: { initialDelayMs: 10_000, maxDelayMs: 10_000 } },
    s.sink,
  );
  for (let i = 1; i <= 5; i++) lane.push(event(i));
  // event 1 fails and waits to retry; events 2 and 3 hang in flight; 4 and 5 wait in the queue
  while (s.calls.length < 3) await sleep(1);
  await sleep(5);
  const before = lane.stats();
  assert.deepEqual([before.waitingRetry, before.inFlight, before.queued], [1, 2, 2]);
  assert.equal(lane.size, 5);
  await lane.drain(30);
  assert.equal(settled.length, 0, 'nothing settled');
  assert.equal(lane.size, 0);
  assert.deepEqual(
    s.calls.filter((c) => c.signal.aborted).map((c) => c.meta.eventId),
    [2, 3],
  );
  assert.equal(s.calls.length, 3, 'queued events never started');
  assert.equal(lane.hasRoom, false);
  lane.push(event(9));
  assert.equal(lane.size, 0, 'no new work after drain');
  await lane.close();
  assert.equal(s.closed(), 1);
});

test('update: queued deliveries go to the new sink; the old one closes after its in-flight send', async () => {
  let release!: () => void;
  const old = scripted(() => new Promise<void>((r) => (release = r)));
  const next = scripted(() => undefined);
  const { lane, settled, until } = setup({ queue: { concurrency: 1 } }, old.sink);
  lane.push(event(1));
  lane.push(event(2));
  lane.push(event(3));
  while (old.calls.length < 1) await sleep(1);
  lane.update(spec({ queue: { concurrency: 1, rate: { count: 100, intervalMs: 1000 } } }), next.sink, async (e) => ({
    v2: e.id,
  }));
  assert.equal(old.closed(), 0, 'still sending');
  release();
  await until(3);
  assert.deepEqual(settled.map((x) => x.id).sort(), [1, 2, 3]);
  assert.equal(old.calls.length, 1);
  assert.deepEqual(
    next.calls.map((c) => c.payload),
    [{ v2: 2 }, { v2: 3 }],
  );
  await sleep(1);
  assert.equal(old.closed(), 1);
  await lane.close();
  assert.equal(next.closed(), 1);
});

test('drain waits, within the grace period, for a dead-letter write that an ending attempt starts', async () => {
  const s = scripted(async () => {
    await sleep(10);
    return { ok: false, retryable: false, error: 'HTTP 422', status: 422 };
  });
  const { lane, dlq, settled } = setup({}, s.sink);
  const append = dlq.append.bind(dlq);
  dlq.append = async (rec) => {
    await sleep(20);
    return append(rec);
  };
  lane.push(event(1));
  while (s.calls.length < 1) await sleep(1);
  await lane.drain(5000);
  assert.deepEqual(
    settled.map((x) => x.result),
    ['dead_lettered'],
  );
  assert.equal(dlq.records.length, 1);
  await lane.close();
});

test('metrics: deliveries by result, retries, send durations and queue depth are counted per lane', async () => {
  const metrics = new Metrics({ processMetrics: false });
  const s = scripted((_call, meta) => {
    if (meta.eventId === 2) return { ok: false, retryable: false, error: 'HTTP 400', status: 400 };
    if (meta.eventId === 3 && meta.attempt === 1) return { ok: false, retryable: true, error: 'HTTP 503' };
    return undefined;
  });
  const { lane, until } = setup({ retry: { initialDelayMs: 1, maxDelayMs: 1 } }, s.sink, { metrics });
  for (let i = 1; i <= 3; i++) lane.push(event(i));
  await until(3);
  const values = async (name: string) =>
    (await metrics.registry.getSingleMetric(name)!.get()).values.map((v) => [
      (v as { metricName?: string }).metricName ?? name,
      { ...v.labels },
      v.value,
    ]);
  const deliveries = await values('hookroute_sink_deliveries_total');
  assert.deepEqual(deliveries.map(([, l, v]) => [(l as { result: string }).result, v]).sort(), [
    ['dead_lettered', 1],
    ['delivered', 2],
  ]);
  assert.deepEqual(
    (await values('hookroute_sink_retries_total')).map(([, , v]) => v),
    [1],
  );
  const sendCount = (await values('hookroute_sink_send_seconds')).find(
    ([n]) => n === 'hookroute_sink_send_seconds_count',
  );
  assert.equal(sendCount?.[2], 4, 'four attempts timed');
  assert.deepEqual(
    (await values('hookroute_sink_queue_depth')).map(([, , v]) => v),
    [0],
  );
  await lane.close();
});

test('metrics: the queue depth is read when scraped, and keeps its last value after the lane closes', async () => {
  const metrics = new Metrics({ processMetrics: false });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const s = scripted(() => held.then(() => undefined));
  const { lane, until } = setup({ queue: { concurrency: 1 } }, s.sink, { metrics });
  const depth = async () =>
    (await metrics.queueDepth.get()).values.map((v) => [v.labels.pipeline, v.labels.sink, v.value]);
  assert.deepEqual(await depth(), [], 'no series before the lane held anything');
  for (let i = 1; i <= 3; i++) lane.push(event(i));
  assert.deepEqual(await depth(), [['p1', 's1', 3]]);
  release();
  await until(3);
  assert.deepEqual(await depth(), [['p1', 's1', 0]]);
  await lane.close();
  lane.push(event(9)); // refused after close: the series stays as it was
  assert.deepEqual(await depth(), [['p1', 's1', 0]]);
});
