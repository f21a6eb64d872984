import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metrics } from '../../src/admin/metrics.ts';
import { silentLogger } from '../../src/log.ts';
import type { LaneSpec } from '../../src/pipelines/table.ts';
import type { SinkInstance } from '../../src/sinks/define.ts';
import { DeadLetterStore, newDeadLetterId, type DeadLetter } from '../../src/dead-letters/store.ts';
import { replayOffline, type ReplayDeps } from '../../src/dead-letters/replay.ts';
import { laneSpec } from '../fixtures/lanes.ts';

function lane(pipeline: string, sinkId: string, capacity = 100): LaneSpec {
  return laneSpec(`${pipeline}/${sinkId}`, {
    type: 'mem',
    retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 2 },
    queue: { concurrency: 2, capacity },
    breaker: { threshold: 100, cooldownMs: 10 },
    fingerprint: 'x',
  });
}

function rec(eventId: number, pipeline?: string, sink?: string): DeadLetter {
  const r: DeadLetter = {
    id: newDeadLetterId(),
    reason: pipeline ? 'delivery_failed' : 'quarantined',
    eventId,
    eventName: 'emailOpen',
    receivedAt: 1,
    event: { eventName: 'emailOpen', n: eventId },
    attempts: 3,
    lastError: 'old',
    deadAt: 2,
  };
  if (pipeline) r.pipeline = pipeline;
  if (sink) r.sink = sink;
  return r;
}

async function withStore(fn: (store: DeadLetterStore) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-replay-'));
  const store = await DeadLetterStore.open(join(dir, 'dlq'), { fsync: 'off' });
  try {
    await fn(store);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function all(store: DeadLetterStore) {
  const out: DeadLetter[] = [];
  for await (const r of store.list()) out.push(r);
  return out;
}

function deps(
  store: DeadLetterStore,
  lanes: LaneSpec[],
  createSink: ReplayDeps['createSink'],
  extra: Partial<ReplayDeps> = {},
): ReplayDeps {
  return {
    store,
    table: {
      lanes: new Map(lanes.map((l) => [l.key, l])),
      pipelines: [{ name: 'a', file: '/a.yaml', enabled: true, catchAll: false, lanes: [] }],
      payload: async (key, e) => ({ key, n: e.body.n }),
    },
    createSink,
    metrics: new Metrics({ processMetrics: false }),
    logger: silentLogger,
    ...extra,
  };
}

test('many records through small batches and a tiny queue: delivered ones leave, failing ones return once', () =>
  withStore(async (store) => {
    for (let i = 1; i <= 25; i++) await store.append(rec(i, 'a', 's'));
    const sent: unknown[] = [];
    let closed = 0;
    const sink: SinkInstance = {
      async send(payload, meta) {
        sent.push(payload);
        return meta.eventId % 5 === 0 ? { ok: false, retryable: true, error: 'HTTP 503', status: 503 } : { ok: true };
      },
      async close() {
        closed++;
      },
    };
    const result = await replayOffline(deps(store, [lane('a', 's', 3)], async () => sink, { batchSize: 4 }));
    assert.deepEqual(result, { replayed: 25, delivered: 20, failed: 5, missing: 0, skipped: 0 });
    const left = await all(store);
    assert.deepEqual(
      left.map((r) => r.eventId).sort((x, y) => x - y),
      [5, 10, 15, 20, 25],
    );
    assert.ok(left.every((r) => r.attempts === 5 && r.lastError === 'HTTP 503' && r.status === 503));
    assert.deepEqual(left[0]?.payload, { key: 'a/s', n: left[0]?.eventId });
    assert.equal(sent.length, 30, '20 delivered + 5 x 2 attempts');
    assert.equal(closed, 1);
  }));

test('a sink that cannot start keeps its records with the reason; quarantined ones are skipped; the filter applies', () =>
  withStore(async (store) => {
    await store.append(rec(1, 'a', 'broken'));
    await store.append(rec(2, 'b', 's'));
    await store.append(rec(3));
    const result = await replayOffline(
      deps(
        store,
        [lane('a', 'broken'), lane('b', 's')],
        async (spec) => {
          throw new Error(`no credentials for ${spec.key}`);
        },
        { filter: { pipeline: 'a' } },
      ),
    );
    assert.deepEqual(result, { replayed: 1, delivered: 0, failed: 1, missing: 0, skipped: 0 });
    const left = await all(store);
    assert.deepEqual(left.map((r) => r.eventId).sort(), [1, 2, 3]);
    assert.match(left.find((r) => r.eventId === 1)!.lastError, /sink could not start: no credentials for a\/broken/);

    const everything = await replayOffline(
      deps(store, [], async () => ({ send: async () => undefined, close: async () => {} })),
    );
    assert.deepEqual(everything, { replayed: 2, delivered: 0, failed: 0, missing: 2, skipped: 1 });
    const reasons = (await all(store)).map((r) => [r.eventId, r.reason]).sort();
    assert.deepEqual(reasons, [
      [1, 'sink_removed'],
      [2, 'pipeline_removed'],
      [3, 'quarantined'],
    ]);
  }));
