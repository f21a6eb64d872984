import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Metrics } from '../../src/admin/metrics.ts';
import type { DeadLetter } from '../../src/dead-letters/store.ts';
import { Lane, type LaneDeps } from '../../src/delivery/lane.ts';
import { idempotencyKey } from '../../src/delivery/idempotency-key.ts';
import type { EventRecord } from '../../src/events/record.ts';
import { silentLogger } from '../../src/log.ts';
import type { LaneSpec } from '../../src/pipelines/table.ts';
import type { SinkInstance } from '../../src/sinks/define.ts';
import { createHttpSink, type HttpSinkOptions } from '../../src/sinks/http.ts';
import { laneSpec } from '../fixtures/lanes.ts';
import { recordingReceiver, type Answer, type RecordedRequest } from '../fixtures/recording-receiver.ts';

function event(id: number, extra: Record<string, unknown> = {}): EventRecord {
  const body = { eventName: 'emailSend', email: `u${id}@example.com`, ...extra };
  return { id, receivedAt: 1000 + id, eventName: 'emailSend', raw: Buffer.from(JSON.stringify(body)), body };
}

function httpSink(url: string, extra: Partial<HttpSinkOptions> = {}): SinkInstance {
  return createHttpSink({ url, method: 'POST', timeout: '5s', maxResponseBytes: '1mb', ...extra }, { baseDir: '/' });
}

/** A lane with `batch` over `sink`; resolves `until(n)` once n events settled. */
function batchLane(
  batch: LaneSpec['batch'],
  sink: SinkInstance,
  o: Partial<LaneSpec> = {},
  extra: Partial<LaneDeps> = {},
) {
  const dlq: DeadLetter[] = [];
  const settled = new Map<number, string>();
  const waiters: [number, () => void][] = [];
  const lane = new Lane({
    spec: laneSpec('p1/s1', {
      retry: { attempts: 5, initialDelayMs: 5, maxDelayMs: 20 },
      queue: { concurrency: 4, capacity: 1000 },
      breaker: { threshold: 1000, cooldownMs: 50 },
      ...(batch ? { batch } : {}),
      ...o,
    }),
    sink,
    payload: async (e) => e.body,
    deadLetters: { append: async (r) => void dlq.push(r) },
    metrics: new Metrics({ processMetrics: false }),
    logger: silentLogger,
    onSettled: (e, r) => {
      settled.set(e.id, r);
      for (const [n, wake] of waiters) if (settled.size >= n) wake();
    },
    random: () => 0.5,
    ...extra,
  });
  const until = (n: number) =>
    new Promise<void>((resolve) => (settled.size >= n ? resolve() : waiters.push([n, resolve])));
  return { lane, dlq, settled, until };
}

const emails = (r: RecordedRequest) => (JSON.parse(r.text) as { email: string }[]).map((p) => p.email);

test('batch by count: maxEvents events per request, as one JSON array', async () => {
  const dest = await recordingReceiver();
  const { lane, until } = batchLane({ maxEvents: 10, maxBytes: 1 << 20, maxWaitMs: 60_000 }, httpSink(dest.url));
  try {
    for (let i = 1; i <= 30; i++) lane.push(event(i));
    await until(30);
    assert.equal(dest.requests.length, 3);
    for (const r of dest.requests) {
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(emails(r).length, 10);
    }
    assert.deepEqual(
      dest.requests.flatMap(emails).sort(),
      Array.from({ length: 30 }, (_, i) => `u${i + 1}@example.com`).sort(),
    );
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('batch by bytes: a batch never goes over maxBytes of payload JSON', async () => {
  const dest = await recordingReceiver();
  const one = Buffer.byteLength(JSON.stringify(event(1).body));
  const { lane, until } = batchLane({ maxEvents: 500, maxBytes: one * 3, maxWaitMs: 60_000 }, httpSink(dest.url));
  try {
    for (let i = 1; i <= 9; i++) lane.push(event(i)); // ids 1..9: the same JSON length
    await until(9);
    assert.deepEqual(
      dest.requests.map((r) => emails(r).length),
      [3, 3, 3],
    );
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('batch by maxWait: a lone event goes out on its own once maxWait has passed', async () => {
  const dest = await recordingReceiver();
  const { lane, until } = batchLane({ maxEvents: 500, maxBytes: 1 << 20, maxWaitMs: 30 }, httpSink(dest.url));
  try {
    lane.push(event(1));
    assert.equal(lane.stats().queued, 1, 'held for its batch to fill');
    await until(1);
    assert.deepEqual(dest.requests.map(emails), [['u1@example.com']]);
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('ndjson: one payload a line, Content-Type application/x-ndjson', async () => {
  const dest = await recordingReceiver();
  const { lane, until } = batchLane(
    { maxEvents: 3, maxBytes: 1 << 20, maxWaitMs: 60_000 },
    httpSink(dest.url, { encoding: 'ndjson' }),
  );
  try {
    for (let i = 1; i <= 3; i++) lane.push(event(i));
    await until(3);
    assert.equal(dest.requests.length, 1);
    const r = dest.requests[0]!;
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    assert.ok(r.text.endsWith('\n'));
    assert.deepEqual(
      r.text
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { email: string }).email),
      ['u1@example.com', 'u2@example.com', 'u3@example.com'],
    );
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('a batch of 100 with 3 poisoned events: 97 delivered, exactly the 3 dead-lettered, each with the 400 body', async () => {
  const poisoned = new Set([13, 50, 77]);
  const answer = (r: RecordedRequest): Answer =>
    (JSON.parse(r.text) as { poison?: boolean }[]).some((p) => p.poison)
      ? { status: 400, body: '{"error":"poisoned payload refused"}' }
      : { status: 200, body: 'ok' };
  const dest = await recordingReceiver(answer);
  const { lane, dlq, settled, until } = batchLane(
    { maxEvents: 100, maxBytes: 1 << 20, maxWaitMs: 60_000 },
    httpSink(dest.url),
  );
  try {
    for (let i = 1; i <= 100; i++) lane.push(event(i, poisoned.has(i) ? { poison: true } : {}));
    await until(100);
    const delivered = [...settled].filter(([, r]) => r === 'delivered').map(([id]) => id);
    assert.equal(delivered.length, 97);
    assert.deepEqual(
      dlq.map((d) => d.eventId).sort((a, b) => a - b),
      [13, 50, 77],
    );
    for (const d of dlq) {
      assert.equal(d.reason, 'permanent_error');
      assert.equal(d.status, 400);
      assert.match(d.lastError, /poisoned payload refused/);
    }
    // What the destination accepted is exactly the 97 good events, each once.
    const accepted = dest.requests
      .filter((r) => !(JSON.parse(r.text) as { poison?: boolean }[]).some((p) => p.poison))
      .flatMap(emails);
    assert.equal(accepted.length, 97);
    assert.equal(new Set(accepted).size, 97);
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('a transform error dead-letters only its own event; the rest of the batch goes out', async () => {
  const dest = await recordingReceiver();
  const { lane, dlq, until } = batchLane(
    { maxEvents: 9, maxBytes: 1 << 20, maxWaitMs: 60_000 },
    httpSink(dest.url),
    {},
    {
      payload: async (e) => {
        if (e.id === 5) throw new Error('T1006 not a function');
        return e.body;
      },
    },
  );
  try {
    for (let i = 1; i <= 10; i++) lane.push(event(i));
    await until(10);
    assert.deepEqual(
      dlq.map((d) => [d.eventId, d.reason]),
      [[5, 'transform_error']],
    );
    assert.equal(dest.requests.length, 1);
    assert.equal(emails(dest.requests[0]!).length, 9);
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('a retryable failure retries the whole batch, with the same Idempotency-Key', async () => {
  let n = 0;
  const dest = await recordingReceiver(() => (++n <= 2 ? { status: 503, body: 'busy' } : { status: 200 }));
  const { lane, until } = batchLane({ maxEvents: 5, maxBytes: 1 << 20, maxWaitMs: 60_000 }, httpSink(dest.url));
  try {
    for (let i = 1; i <= 5; i++) lane.push(event(i));
    await until(5);
    assert.equal(dest.requests.length, 3);
    const keys = dest.requests.map((r) => r.headers['idempotency-key']);
    assert.equal(new Set(keys).size, 1);
    assert.equal(
      keys[0],
      idempotencyKey(
        'p1/s1',
        [5, 3, 1, 2, 4].map((i) => event(i)),
      ),
      'derived from the set of events, in any order',
    );
    assert.ok(dest.requests.every((r) => r.text === dest.requests[0]!.text));
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('unbatched sends carry the per-event Idempotency-Key, the same on every retry', async () => {
  let n = 0;
  const dest = await recordingReceiver(() => (++n === 1 ? { status: 500 } : { status: 200 }));
  const { lane, until } = batchLane(undefined, httpSink(dest.url));
  try {
    lane.push(event(7));
    await until(1);
    assert.deepEqual(
      dest.requests.map((r) => r.headers['idempotency-key']),
      [idempotencyKey('p1/s1', [event(7)]), idempotencyKey('p1/s1', [event(7)])],
    );
    assert.notEqual(idempotencyKey('p1/s1', [event(7)]), idempotencyKey('p1/other', [event(7)]));
    assert.notEqual(idempotencyKey('p1/s1', [event(7)]), idempotencyKey('p1/s1', [event(8)]));
  } finally {
    await lane.close();
    await dest.close();
  }
});

test('drain drops the batch being filled without settling it (it stays owed in the journal)', async () => {
  const dest = await recordingReceiver();
  const { lane, settled } = batchLane({ maxEvents: 500, maxBytes: 1 << 20, maxWaitMs: 60_000 }, httpSink(dest.url));
  for (let i = 1; i <= 4; i++) lane.push(event(i));
  await new Promise((r) => setImmediate(r));
  assert.equal(lane.size, 4);
  await lane.close();
  assert.equal(lane.size, 0);
  assert.equal(settled.size, 0);
  assert.equal(dest.requests.length, 0);
  await dest.close();
});

test('reload: the batch being filled goes out at once, whole, even when the new spec turns batching off', async () => {
  const sends: number[][] = [];
  const sink: SinkInstance = {
    async send(_p, meta) {
      sends.push([meta.eventId]);
    },
    async sendBatch(items) {
      sends.push(items.map((it) => it.meta.eventId));
    },
    async close() {},
  };
  const { lane, until } = batchLane({ maxEvents: 500, maxBytes: 1 << 20, maxWaitMs: 60_000 }, sink);
  try {
    for (let i = 1; i <= 3; i++) lane.push(event(i));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(sends, [], 'waiting for the batch to fill');
    const { batch: _off, ...unbatched } = laneSpec('p1/s1', {
      retry: { attempts: 5, initialDelayMs: 5, maxDelayMs: 20 },
      queue: { concurrency: 4, capacity: 1000 },
      breaker: { threshold: 1000, cooldownMs: 50 },
      fingerprint: 'v2',
    });
    lane.update(unbatched, sink, async (e) => e.body);
    await until(3);
    lane.push(event(4));
    await until(4);
    assert.deepEqual(sends, [[1, 2, 3], [4]]);
  } finally {
    await lane.close();
  }
});
