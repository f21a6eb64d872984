// A spilled lane's backlog lives on disk: the engine must not keep any per-event object alive for it, however long
// the backlog. Counted, not measured in bytes: every accepted event's parsed body is watched through a WeakRef, and after
// a full GC only the few events the lane holds in memory may still be reachable.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Metrics } from '../../src/admin/metrics.ts';
import { DeliveryEngine } from '../../src/delivery/engine.ts';
import type { EventRecord, IncomingEvent } from '../../src/events/record.ts';
import { silentLogger } from '../../src/log.ts';
import type { RoutingTable } from '../../src/pipelines/table.ts';
import { HeldLane, laneSpec as makeLaneSpec } from '../fixtures/lanes.ts';

// A fresh context reads the flag when it is created, so this yields a working gc() without `node --expose-gc`.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const CAPACITY = 8;
const EVENTS = 6000;
/** Reachable events allowed beyond the lane's own: the last routing batch may still be on the stack of a finished task. */
const SLACK = 64;
/**
 * After the drain: a fixed number of recently read events may be kept (lanes that fell behind together read the same
 * events), but never a share of the backlog: a per-event leak would leave all EVENTS reachable.
 */
const READ_BACK_BOUND = 2500;

const laneSpec = makeLaneSpec('p/down', { queue: { concurrency: 1, capacity: CAPACITY } });

const routingTable: RoutingTable = {
  version: 1,
  pipelines: [{ name: 'p', file: '/p.yaml', enabled: true, catchAll: false, lanes: [laneSpec.key] }],
  lanes: new Map([[laneSpec.key, laneSpec]]),
  route: async () => ({ lanes: [laneSpec.key], failures: [], unmatched: false }),
  payload: async (_k, e) => e.body,
};

/** Events whose body is still reachable after a full GC (WeakRefs are only cleared once the current job is over). */
async function reachable(refs: WeakRef<object>[]): Promise<number> {
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  return refs.filter((r) => r.deref() !== undefined).length;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

let dir: string;
let engine: DeliveryEngine | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookroute-backlog-memory-'));
});
afterEach(async () => {
  await engine?.shutdown(0);
  engine = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('DeliveryEngine backlog memory', () => {
  it('keeps no per-event object alive for a spilled lane, however long its backlog, and delivers it all in order', async () => {
    let lane: HeldLane | undefined;
    engine = await DeliveryEngine.open({
      storage: { dir, fsync: 'off', maxDiskBytes: 1 << 30, segmentBytes: 256 * 1024 },
      table: () => routingTable,
      createLane: (s, onSettled) => (lane = new HeldLane(s, onSettled)),
      deadLetters: { append: async () => {} },
      metrics: new Metrics({ processMetrics: false }),
      logger: silentLogger,
    });
    engine.start();
    const bodies: WeakRef<object>[] = [];
    for (let from = 1; from <= EVENTS; from += 500) {
      const batch: Promise<void>[] = [];
      for (let n = from; n < from + 500 && n <= EVENTS; n++) {
        const body = {
          eventName: 'emailSend',
          email: `u${n}@example.com`,
          n,
          dataFields: { campaignId: n % 97, note: 'x'.repeat(200) },
        };
        const ev: IncomingEvent = {
          receivedAt: 1_700_000_000_000 + n,
          eventName: 'emailSend',
          raw: Buffer.from(JSON.stringify(body)),
          body,
        };
        bodies.push(new WeakRef(body));
        batch.push(engine.accept(ev));
      }
      await Promise.all(batch);
    }
    const e = engine;
    await until(() => e.stats().lanes[laneSpec.key]?.owed === EVENTS, 'every event routed to the lane');

    // The outage: everything is owed, only the lane's capacity is in memory.
    assert.equal(e.stats().pendingEvents, EVENTS);
    assert.equal(e.stats().lanes[laneSpec.key]!.inMemory, CAPACITY);
    const alive = await reachable(bodies);
    assert.ok(
      alive <= CAPACITY + SLACK,
      `${alive} of ${EVENTS} accepted events still reachable during the outage (lane capacity ${CAPACITY})`,
    );

    // The sink comes back: the backlog is read from disk a lane's worth at a time, and let go once delivered.
    const read: WeakRef<object>[] = [];
    const seen = new Set<EventRecord>();
    await until(() => {
      for (const r of lane!.held) if (!seen.has(r)) seen.add(r) && read.push(new WeakRef(r.body));
      lane!.deliver(CAPACITY);
      return e.stats().pendingEvents === 0;
    }, 'backlog drained');
    seen.clear();
    assert.deepEqual(
      lane!.received,
      Array.from({ length: EVENTS }, (_, i) => i + 1),
      'every event once, in order',
    );
    assert.ok(lane!.maxHeld <= CAPACITY, `lane held ${lane!.maxHeld} at most`);
    const readAlive = await reachable(read);
    assert.ok(read.length >= EVENTS - CAPACITY, `events read back from disk: ${read.length}`);
    assert.ok(
      readAlive <= READ_BACK_BOUND,
      `${readAlive} of ${read.length} events read back from disk still reachable after delivery`,
    );
  });
});
