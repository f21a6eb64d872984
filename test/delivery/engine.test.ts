import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Metrics } from '../../src/admin/metrics.ts';
import type { DeadLetter } from '../../src/dead-letters/store.ts';
import { DeliveryEngine, type EngineDeps } from '../../src/delivery/engine.ts';
import type { EngineLane } from '../../src/delivery/lane-feed.ts';
import type { Lane } from '../../src/delivery/lane.ts';
import { HandoffRefused, type IncomingEvent } from '../../src/events/record.ts';
import { silentLogger } from '../../src/log.ts';
import type { LaneSpec, RoutingTable } from '../../src/pipelines/table.ts';
import type { EventStore } from '../../src/storage/event-store.ts';
import { HeldLane, laneSpec, tableOf } from '../fixtures/lanes.ts';
import { emptyDisk, MemoryStore } from '../fixtures/memory-store.ts';

// The real Lane must fit what the engine drives.
const laneFits: Lane extends EngineLane ? true : false = true;
assert.ok(laneFits);

function spec(key: string, capacity = 1000, fingerprint = 'v1'): LaneSpec {
  return laneSpec(key, { queue: { concurrency: 1, capacity }, fingerprint });
}

const table = tableOf;

let dir: string;
let engines: DeliveryEngine[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookroute-engine-'));
  engines = [];
});
afterEach(async () => {
  for (const e of engines) await e.shutdown(0);
  await rm(dir, { recursive: true, force: true });
});

interface Harness {
  engine: DeliveryEngine;
  lanes: Map<string, HeldLane>;
  deadLetters: DeadLetter[];
  setTable(t: RoutingTable): void;
  metrics: Metrics;
}

async function harness(
  t: RoutingTable,
  storage: Partial<EngineDeps['storage']> = {},
  storageDir = dir,
  store?: EventStore,
): Promise<Harness> {
  let current = t;
  const lanes = new Map<string, HeldLane>();
  const deadLetters: DeadLetter[] = [];
  const metrics = new Metrics({ processMetrics: false });
  const engine = await DeliveryEngine.open({
    storage: { dir: storageDir, fsync: 'batch', maxDiskBytes: 1 << 30, segmentBytes: 1 << 20, ...storage },
    table: () => current,
    createLane: (s, onSettled) => {
      const lane = new HeldLane(s, onSettled);
      lanes.set(s.key, lane);
      return lane;
    },
    deadLetters: { append: async (r) => void deadLetters.push(r) },
    metrics,
    logger: silentLogger,
    reloadGraceMs: 0,
    ...(store ? { store } : {}),
  });
  engines.push(engine);
  return { engine, lanes, deadLetters, metrics, setTable: (nt) => (current = nt) };
}

function event(n: number, extra: Partial<IncomingEvent> = {}): IncomingEvent {
  const body = { eventName: 'emailSend', email: `u${n}@example.com`, n };
  return {
    receivedAt: 1_700_000_000_000 + n,
    eventName: 'emailSend',
    raw: Buffer.from(JSON.stringify(body)),
    body,
    ...extra,
  };
}

/** Wait (bounded) until `cond` holds; the engine works in the background after accept resolves. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for: ${what}`);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('DeliveryEngine', () => {
  it('runs on any storage driver: the same engine over an in-memory EventStore delivers, finishes and resumes', async () => {
    const disk = emptyDisk();
    const specs = [spec('p/a'), spec('q/b')];
    const t = table(specs, (e) => ({ lanes: (e.body.n as number) % 2 ? ['p/a'] : ['p/a', 'q/b'] }));
    const h = await harness(t, {}, dir, new MemoryStore(disk));
    h.engine.start();
    await Promise.all(range(1, 10).map((n) => h.engine.accept(event(n))));
    await until(() => h.lanes.get('p/a')!.received.length === 10, 'routed to p/a');
    h.lanes.get('p/a')!.deliver();
    assert.deepEqual([...disk.events.keys()], [2, 4, 6, 8, 10], 'only what q/b still owes is kept');
    await h.engine.shutdown(0);

    const h2 = await harness(t, {}, dir, new MemoryStore(disk));
    h2.engine.start();
    await until(() => h2.lanes.get('q/b')?.received.length === 5, 'q/b resumed from the driver');
    assert.deepEqual(h2.lanes.get('q/b')!.received, [2, 4, 6, 8, 10]);
    assert.equal(h2.lanes.get('p/a')!.received.length, 0, 'nothing finished is delivered again');
    h2.lanes.get('q/b')!.deliver();
    assert.equal(disk.events.size, 0);
  });

  it('counts one match per pipeline that wants an event (not per sink)', async () => {
    const specs = [spec('p/a'), spec('p/b'), spec('q/c')];
    const t = table(specs, (e) => ({ lanes: (e.body.n as number) % 2 ? ['p/a', 'p/b'] : ['p/a', 'p/b', 'q/c'] }));
    const h = await harness(t);
    h.engine.start();
    await Promise.all(range(1, 6).map((n) => h.engine.accept(event(n))));
    await until(() => h.lanes.get('p/a')!.received.length === 6, 'routed');
    const text = await h.metrics.registry.metrics();
    assert.match(text, /hookroute_pipeline_matches_total\{pipeline="p"\} 6/);
    assert.match(text, /hookroute_pipeline_matches_total\{pipeline="q"\} 3/);
  });

  it('pushes every accepted event to each lane that owes it, in order, and finishes it when all settle', async () => {
    const t = table([spec('p/a'), spec('p/b'), spec('q/c')], (e) => ({
      lanes: (e.body.n as number) % 2 ? ['p/a', 'p/b'] : ['p/a', 'q/c'],
    }));
    const h = await harness(t);
    h.engine.start();
    await Promise.all(range(1, 40).map((n) => h.engine.accept(event(n))));
    await until(() => h.lanes.get('p/a')!.received.length === 40, 'all events pushed');
    assert.deepEqual(h.lanes.get('p/a')!.received, range(1, 40));
    assert.deepEqual(
      h.lanes.get('p/b')!.received,
      range(1, 40).filter((n) => n % 2),
    );
    assert.deepEqual(
      h.lanes.get('q/c')!.received,
      range(1, 40).filter((n) => !(n % 2)),
    );
    assert.deepEqual(h.lanes.get('p/a')!.held[0]!.body, event(1).body);
    assert.equal(h.engine.stats().pendingEvents, 40);
    h.lanes.get('p/a')!.deliver();
    h.lanes.get('p/b')!.deliver();
    assert.equal(h.engine.stats().pendingEvents, 20, 'events owed to q/c are not finished yet');
    h.lanes.get('q/c')!.deliver();
    assert.equal(h.engine.stats().pendingEvents, 0);
    assert.deepEqual(h.engine.stats().lanes['q/c'], { owed: 0, inMemory: 0 });
  });

  it('spills a full lane to disk and refills it in order: nothing lost, nothing duplicated, memory bounded by capacity', async () => {
    const h = await harness(table([spec('p/slow', 8), spec('p/fast', 1000)]));
    h.engine.start();
    await Promise.all(range(1, 300).map((n) => h.engine.accept(event(n))));
    const slow = () => h.lanes.get('p/slow')!;
    await until(() => h.lanes.get('p/fast')!.received.length === 300, 'fast lane got everything');
    assert.equal(slow().size, 8);
    assert.equal(h.engine.stats().lanes['p/slow']!.owed, 300);
    // Drain the slow lane a few events at a time, as a struggling sink would.
    for (
      let i = 0;
      i < 2000 && slow().received.length + 0 < 300 + 0 && h.engine.stats().lanes['p/slow']!.owed > 0;
      i++
    ) {
      slow().deliver(3);
      await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => (slow().deliver(), h.engine.stats().lanes['p/slow']!.owed === 0), 'slow lane drained');
    assert.deepEqual(slow().received, range(1, 300), 'every event once, in order');
    assert.ok(slow().maxHeld <= 8);
    // New events go straight to memory again once it has caught up.
    await h.engine.accept(event(301));
    await until(() => slow().received.at(-1) === 301, 'live again');
  });

  it('shrinks storage back as a long backlog drains, and owes nothing after a restart', async () => {
    const h = await harness(table([spec('p/a', 16)]), { segmentBytes: 4 * 1024 });
    h.engine.start();
    await Promise.all(range(1, 400).map((n) => h.engine.accept(event(n))));
    const full = h.engine.stats().journalBytes;
    assert.ok(full > 20 * 1024, `backlog on disk: ${full} bytes`);
    const lane = () => h.lanes.get('p/a')!;
    await until(() => (lane().deliver(4), h.engine.stats().pendingEvents === 0), 'drained');
    assert.deepEqual(lane().received, range(1, 400));
    await until(() => h.engine.stats().journalBytes < 8 * 1024, 'finished segments deleted');
    await h.engine.shutdown(0);
    const h2 = await harness(table([spec('p/a', 16)]), { segmentBytes: 4 * 1024 });
    assert.equal(h2.engine.stats().pendingEvents, 0);
    h2.engine.start();
    await h2.engine.accept(event(401));
    await until(() => h2.lanes.get('p/a')!.received.length === 1, 'new event delivered');
    assert.ok(h2.lanes.get('p/a')!.held[0]!.id > 400, 'ids continue after the restart');
  });

  it('resumes exactly the unfinished deliveries after a restart, before new traffic', async () => {
    const specs = [spec('p/a', 100)];
    const h = await harness(table(specs));
    h.engine.start();
    await Promise.all(range(1, 30).map((n) => h.engine.accept(event(n))));
    await until(() => h.lanes.get('p/a')!.received.length === 30, 'pushed');
    h.lanes.get('p/a')!.deliver(10);
    await h.engine.shutdown(0);

    const h2 = await harness(table(specs));
    assert.equal(h2.engine.stats().pendingEvents, 20);
    const more = h2.engine.accept(event(31));
    h2.engine.start();
    await more;
    await until(() => h2.lanes.get('p/a')!.received.length === 21, 'resumed');
    assert.deepEqual(h2.lanes.get('p/a')!.received, range(11, 31), 'recovered work first, then the new event');
  });

  it('routes after a crash the events that were journaled but never routed', async () => {
    const specs = [spec('p/a')];
    const h = await harness(table(specs));
    // Not started: events are durable (the 200 was sent) but not routed yet. Snapshot the folder as a crash would leave it.
    await Promise.all(range(1, 12).map((n) => h.engine.accept(event(n))));
    const crashed = await mkdtemp(join(tmpdir(), 'hookroute-engine-crash-'));
    try {
      await cp(dir, crashed, { recursive: true });
      const h2 = await harness(table(specs), {}, crashed);
      h2.engine.start();
      await until(() => h2.lanes.get('p/a')?.received.length === 12, 'recovered and routed');
      assert.deepEqual(h2.lanes.get('p/a')!.received, range(1, 12));
      await h2.engine.shutdown(0);
    } finally {
      await rm(crashed, { recursive: true, force: true });
    }
  });

  it('dead-letters what a removed pipeline or sink still owes, at restart and on reload', async () => {
    const all = [spec('p/a'), spec('p/b'), spec('q/c'), spec('r/d')];
    const h = await harness(table(all));
    h.engine.start();
    await Promise.all(range(1, 5).map((n) => h.engine.accept(event(n))));
    await until(() => h.lanes.get('r/d')!.received.length === 5, 'pushed');
    h.lanes.get('p/a')!.deliver();
    await h.engine.shutdown(0);

    // Restart without sink p/b (pipeline p stays) and without pipeline q.
    const h2 = await harness(table([spec('p/a'), spec('r/d')]));
    h2.engine.start();
    await until(() => h2.deadLetters.length === 10, 'dead letters written');
    const byLane = (k: string) => h2.deadLetters.filter((d) => `${d.pipeline}/${d.sink}` === k);
    assert.deepEqual(
      byLane('p/b').map((d) => [d.reason, d.eventId]),
      range(1, 5).map((n) => ['sink_removed', n]),
    );
    assert.deepEqual(
      byLane('q/c').map((d) => d.reason),
      Array(5).fill('pipeline_removed'),
    );
    assert.deepEqual(byLane('q/c')[0]!.event, event(1).body);
    await until(() => h2.lanes.get('r/d')!.received.length === 5, 'r/d resumed');
    assert.equal(h2.lanes.get('p/a')!.received.length, 0, 'p/a had finished everything');

    // Reload that removes r/d while it still holds its events in memory.
    h2.setTable(table([spec('p/a')]));
    h2.engine.tableChanged();
    await until(() => h2.deadLetters.length === 15, 'r/d dead-lettered');
    assert.ok(h2.lanes.get('r/d')!.closed);
    assert.equal(h2.engine.stats().pendingEvents, 0);
  });

  it('recreates a lane whose spec changed on reload and gives it what the old one abandoned', async () => {
    const h = await harness(table([spec('p/a', 100, 'v1')]));
    h.engine.start();
    await Promise.all(range(1, 6).map((n) => h.engine.accept(event(n))));
    await until(() => h.lanes.get('p/a')!.received.length === 6, 'pushed');
    const old = h.lanes.get('p/a')!;
    old.deliver(2);
    h.setTable(table([spec('p/a', 100, 'v2')]));
    h.engine.tableChanged();
    await until(() => h.lanes.get('p/a') !== old && h.lanes.get('p/a')!.received.length === 4, 'new lane refilled');
    assert.deepEqual(h.lanes.get('p/a')!.received, range(3, 6));
    assert.equal(h.lanes.get('p/a')!.spec.fingerprint, 'v2');
  });

  it('refuses with storage_full over maxDiskBytes and accepts again once the backlog drains', async () => {
    const h = await harness(table([spec('p/a', 10_000)]), { maxDiskBytes: 8 * 1024, segmentBytes: 2 * 1024 });
    h.engine.start();
    let refused: unknown;
    let accepted = 0;
    for (let n = 1; n <= 500 && !refused; n++) {
      try {
        await h.engine.accept(event(n));
        accepted++;
      } catch (err) {
        refused = err;
      }
    }
    assert.ok(
      refused instanceof HandoffRefused && refused.reason === 'storage_full' && refused.retryAfterSeconds > 0,
      String(refused),
    );
    assert.ok(accepted > 10);
    assert.equal(h.engine.writable(), false, 'readiness sees the full journal');
    await until(() => h.lanes.get('p/a')!.received.length === accepted, 'pushed');
    h.lanes.get('p/a')!.deliver();
    await until(() => h.engine.stats().journalBytes < 2 * 1024, 'finished segments deleted');
    assert.equal(h.engine.writable(), true);
    await h.engine.accept(event(1000));
    await until(() => h.lanes.get('p/a')!.received.at(-1) === accepted + 1, 'the new event is delivered');
  });

  it('sends quarantined events and match errors to the dead-letter queue, counts unmatched ones', async () => {
    const t = table([spec('p/a')], (e) =>
      e.body.n === 2
        ? { failures: [{ pipeline: 'p', error: 'boom' }] }
        : e.body.n === 3
          ? { unmatched: true }
          : { lanes: ['p/a'] },
    );
    const h = await harness(t);
    h.engine.start();
    await h.engine.accept(event(1, { invalid: [{ path: '/email', message: 'must be string' }] }));
    assert.equal(h.deadLetters[0]!.reason, 'quarantined');
    assert.deepEqual(h.deadLetters[0]!.issues, [{ path: '/email', message: 'must be string' }]);
    await h.engine.accept(event(2));
    await h.engine.accept(event(3));
    await h.engine.accept(event(4));
    await until(() => h.lanes.get('p/a')!.received.length === 1, 'pushed');
    assert.deepEqual(
      h.deadLetters.map((d) => d.reason),
      ['quarantined', 'match_error'],
    );
    assert.equal(h.deadLetters[1]!.lastError, 'boom');
    assert.equal((await h.metrics.eventsUnmatched.get()).values[0]!.value, 1);
    const dead = (await h.metrics.deadLetters.get()).values.map((v) => [v.labels.reason, v.value]);
    assert.deepEqual(dead.sort(), [
      ['match_error', 1],
      ['quarantined', 1],
    ]);
    assert.equal(h.engine.stats().pendingEvents, 1, 'only the routed event is still owed');
  });

  it('replays dead letters to exactly their lane, durably', async () => {
    const h = await harness(table([spec('p/a'), spec('p/b'), spec('q/c')]));
    h.engine.start();
    const dl: DeadLetter = {
      id: 'x',
      reason: 'delivery_failed',
      eventId: 9,
      eventName: 'emailSend',
      receivedAt: 5,
      event: { eventName: 'emailSend', n: 9 },
      pipeline: 'p',
      sink: 'b',
      attempts: 3,
      lastError: '503',
      deadAt: 6,
    };
    const matchError: DeadLetter = {
      ...dl,
      id: 'y',
      reason: 'match_error',
      sink: undefined,
      eventId: 10,
      event: { eventName: 'emailSend', n: 10 },
    };
    const quarantined: DeadLetter = {
      ...dl,
      id: 'z',
      reason: 'quarantined',
      pipeline: undefined,
      sink: undefined,
      eventId: 11,
      event: { eventName: 'emailSend', n: 11 },
    };
    await h.engine.replay([dl, matchError, quarantined]);
    await until(() => h.lanes.get('q/c')!.received.length === 1, 'replayed');
    assert.deepEqual(
      h.lanes.get('p/b')!.held.map((e) => e.body.n),
      [9, 10, 11],
      'its own lane, its pipeline, everything',
    );
    assert.deepEqual(
      h.lanes.get('p/a')!.held.map((e) => e.body.n),
      [10, 11],
    );
    assert.deepEqual(
      h.lanes.get('q/c')!.held.map((e) => e.body.n),
      [11],
    );
    assert.deepEqual(h.lanes.get('p/b')!.held[0]!.body, dl.event);
  });

  it('refuses new events once shutdown began and leaves the rest owed', async () => {
    const h = await harness(table([spec('p/a')]));
    h.engine.start();
    await h.engine.accept(event(1));
    await h.engine.shutdown(0);
    await assert.rejects(
      h.engine.accept(event(2)),
      (err) => err instanceof HandoffRefused && err.reason === 'shutting_down',
    );
    const h2 = await harness(table([spec('p/a')]));
    h2.engine.start();
    await until(() => h2.lanes.get('p/a')!.received.length === 1, 'resumed');
  });

  it('loses nothing acknowledged when the process is killed at a random moment (SIGKILL)', async () => {
    const killAfter = 300 + Math.floor(Math.random() * 1200);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('../fixtures/engine-crash-child.ts', import.meta.url)), dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const acked = new Set<number>();
    const delivered = new Set<number>();
    const exited = new Promise((resolve) => child.on('exit', resolve));
    for await (const line of createInterface({ input: child.stdout! })) {
      const [kind, n] = line.split(' ');
      if (kind === 'a') acked.add(Number(n));
      else if (kind === 'd') delivered.add(Number(n));
      if (acked.size >= killAfter && !child.killed) child.kill('SIGKILL');
    }
    await exited;
    assert.ok(acked.size >= killAfter, `the child acknowledged ${acked.size} events before it died`);

    const h = await harness(table([spec('p/a', 1_000_000)]));
    h.engine.start();
    await until(() => {
      const s = h.engine.stats().lanes['p/a'];
      return s !== undefined && s.inMemory === s.owed && h.lanes.get('p/a')!.received.length === s.owed;
    }, 'every owed delivery resumed');
    const resumed = h.lanes.get('p/a')!.held.map((e) => e.body.n as number);
    const reached = new Set([...delivered, ...resumed]);
    const lost = [...acked].filter((n) => !reached.has(n));
    assert.deepEqual(lost, [], `killed after ${acked.size} acks: every acknowledged event is delivered or still owed`);
    assert.equal(new Set(resumed).size, resumed.length, 'each owed event is resumed once');
  });
});
