import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/admin/metrics.ts';
import { Lane } from '../../src/delivery/lane.ts';
import type { EventRecord } from '../../src/events/record.ts';
import { silentLogger } from '../../src/log.ts';
import { createHttpSink } from '../../src/sinks/http.ts';
import { laneSpec } from '../fixtures/lanes.ts';
import { recordingReceiver, type Answer, type RecordedRequest } from '../fixtures/recording-receiver.ts';

function event(id: number): EventRecord {
  const body = { eventName: 'emailSend', email: `u${id}@example.com` };
  return { id, receivedAt: 1000 + id, eventName: 'emailSend', raw: Buffer.from(JSON.stringify(body)), body };
}

/** An adaptive lane (max 64) over the http sink to `url`; `run(n)` pushes n events and samples the limit until all settle. */
function adaptiveLane(url: string) {
  const metrics = new Metrics({ processMetrics: false });
  let settled = 0;
  let wake: (() => void) | undefined;
  const lane = new Lane({
    spec: laneSpec('p1/s1', {
      retry: { attempts: Number.POSITIVE_INFINITY, initialDelayMs: 5, maxDelayMs: 20 },
      queue: { concurrency: 1, adaptive: { maxConcurrency: 64 }, capacity: 5000 },
      breaker: { threshold: 1_000_000, cooldownMs: 50 },
    }),
    sink: createHttpSink({ url, method: 'POST', timeout: '5s', maxResponseBytes: '1mb' }, { baseDir: '/' }),
    payload: async (e) => e.body,
    deadLetters: { append: async () => {} },
    metrics,
    logger: silentLogger,
    onSettled: () => {
      if (++settled === target) wake?.();
    },
  });
  let target = 0;
  const limit = () => {
    const c = lane.stats().concurrency;
    assert.equal(c.mode, 'adaptive');
    return c.limit;
  };
  const run = async (from: number, n: number) => {
    target = settled + n;
    const samples: number[] = [];
    const timer = setInterval(() => samples.push(limit()), 10);
    const done = new Promise<void>((r) => (wake = r));
    for (let i = 0; i < n; i++) lane.push(event(from + i));
    await done;
    clearInterval(timer);
    return samples;
  };
  return { lane, metrics, limit, run };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('adaptive: against a destination that answers 429 above N in flight, the limit settles near N', async (t) => {
  const N = 8;
  const dest = await recordingReceiver((r: RecordedRequest): Answer =>
    r.inFlight > N ? { status: 429, body: 'slow down' } : { status: 200, delayMs: 15 },
  );
  const { lane, metrics, limit, run } = adaptiveLane(dest.url);
  try {
    const samples = await run(1, 1500);
    const late = samples.slice(Math.floor(samples.length / 2));
    const m = median(late);
    t.diagnostic(`median ${m}, range ${Math.min(...late)}..${Math.max(...late)}`);
    assert.ok(m >= N / 2 && m <= N * 1.5, `settled at ${m} (samples ${late.join(',')})`);
    assert.ok(Math.max(...late) <= N * 2, `never far above N: ${Math.max(...late)}`);
    assert.ok(
      dest.requests.some((r) => r.inFlight > N),
      'the destination did push back',
    );
    const gauge = (await metrics.registry.getSingleMetric('hookroute_sink_concurrency_limit')!.get()).values;
    assert.deepEqual(
      gauge.map((v) => [v.labels, v.value]),
      [[{ pipeline: 'p1', sink: 's1' }, limit()]],
    );
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('adaptive: a destination that slows down shrinks the limit; once fast again it grows back', async (t) => {
  let slow = false;
  const dest = await recordingReceiver(() => ({ status: 200, delayMs: slow ? 150 : 5 }));
  const { lane, run } = adaptiveLane(dest.url);
  try {
    const fast1 = await run(1, 1500);
    const peak = Math.max(...fast1);
    slow = true;
    const slowed = await run(10_000, 300);
    const low = Math.min(...slowed);
    assert.ok(low < peak, `slowing down shrank the limit: ${low} < ${peak}`);
    const atEnd = slowed.at(-1)!;
    slow = false;
    const fast2 = await run(20_000, 1500);
    t.diagnostic(`peak ${peak}, low ${low}, end of slow ${atEnd}, fast again ${Math.max(...fast2)}`);
    assert.ok(Math.max(...fast2) > atEnd, `grew back: ${Math.max(...fast2)} > ${atEnd}`);
  } finally {
    await lane.close();
    await dest.close();
  }
});
