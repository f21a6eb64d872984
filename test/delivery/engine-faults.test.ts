// The engine on a failing disk: no event is acknowledged unless it is durable, refusals carry a retry delay, the engine
// accepts again by itself once the journal writes, the quota counts dead letters, and a dead letter that cannot be
// written keeps its event owed.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, it } from 'node:test';
import { HandoffRefused } from '../../src/events/record.ts';
import { fsError } from '../fixtures/faulty-fs.ts';
import { MemoryDeadLetters, incoming, openRig, routingTable, until, type Rig } from '../fixtures/engine-rig.ts';

let dir: string;
let rigs: Rig[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookroute-engine-faults-'));
  rigs = [];
});
afterEach(async () => {
  for (const r of rigs) await r.engine.shutdown(0);
  await rm(dir, { recursive: true, force: true });
});

async function rig(opts: Omit<Parameters<typeof openRig>[0], 'dir'>): Promise<Rig> {
  const r = await openRig({ dir, ...opts });
  rigs.push(r);
  return r;
}

const refusal = (reason: string) => (err: unknown) =>
  err instanceof HandoffRefused && err.reason === reason && err.retryAfterSeconds >= 1;

it('EIO on fsync: 503s (storage_error, Retry-After) and not writable while it lasts; accepts again by itself', async () => {
  const dlq = new MemoryDeadLetters();
  const r = await rig({ table: routingTable(['p/a']), deadLetters: dlq });
  await r.engine.accept(incoming(1));

  r.fs.failSyncs = 'EIO';
  // In flight when the fsync fails: refused, never acknowledged.
  await assert.rejects(r.engine.accept(incoming(2)), refusal('storage_error'));
  await assert.rejects(r.engine.accept(incoming(3)), refusal('storage_error'));
  assert.equal(r.engine.writable(), false, 'readiness reports it');

  r.fs.failSyncs = undefined;
  await until(() => r.engine.writable(), 'writable again without a restart');
  await r.engine.accept(incoming(4));
  const lane = r.lanes.get('p/a')!;
  await until(() => lane.received.length === 2, 'both acknowledged events pushed');
  assert.deepEqual(
    lane.held.map((e) => e.body.n),
    [1, 4],
  );
  lane.deliver();
  // The refused events owe nothing: nothing is left pending to hold a segment forever.
  await until(() => r.engine.stats().pendingEvents === 0, 'nothing pending');
});

it('ENOSPC on write, then a restart: only acknowledged events come back, and only once', async () => {
  const dlq = new MemoryDeadLetters();
  const first = await rig({ table: routingTable(['p/a']), deadLetters: dlq });
  const acked: number[] = [];
  for (let n = 0; n < 5; n++) {
    await first.engine.accept(incoming(n));
    acked.push(n);
  }
  first.fs.failWrites = 'ENOSPC';
  for (let n = 5; n < 10; n++) await assert.rejects(first.engine.accept(incoming(n)), refusal('storage_error'));
  first.fs.failWrites = undefined;
  await until(() => first.engine.writable(), 'writable again');
  for (let n = 10; n < 15; n++) {
    await first.engine.accept(incoming(n));
    acked.push(n);
  }
  await first.engine.shutdown(0);
  rigs.pop();

  const second = await rig({ table: routingTable(['p/a']), deadLetters: dlq });
  await until(() => second.lanes.get('p/a')?.received.length === acked.length, 'every acknowledged event owed again');
  assert.deepEqual(
    second.lanes.get('p/a')!.held.map((e) => e.body.n),
    acked,
  );
});

it('the disk quota counts dead-letter bytes: 503 storage_full and not writable until they shrink', async () => {
  const dlq = new MemoryDeadLetters();
  const r = await rig({ table: routingTable(['p/a']), deadLetters: dlq, storage: { maxDiskBytes: 1 << 20 } });
  await r.engine.accept(incoming(1));
  dlq.bytes = 1 << 20;
  await assert.rejects(r.engine.accept(incoming(2)), refusal('storage_full'));
  // Quarantined events go to the dead-letter queue: they are held to the same quota.
  await assert.rejects(
    r.engine.accept({ ...incoming(3), invalid: [{ path: '/email', message: 'must be string' }] }),
    refusal('storage_full'),
  );
  assert.equal(r.engine.writable(), false);
  dlq.bytes = 0;
  assert.equal(r.engine.writable(), true);
  await r.engine.accept(incoming(4));
});

it('a failing dead-letter queue makes the engine not writable (readiness)', async () => {
  const dlq = new MemoryDeadLetters();
  const r = await rig({ table: routingTable(['p/a']), deadLetters: dlq });
  dlq.healthy = false;
  assert.equal(r.engine.writable(), false);
});

it('a removed lane whose dead letters cannot be written keeps its events owed; they are stored once the queue works', async () => {
  const dlq = new MemoryDeadLetters();
  const r = await rig({ table: routingTable(['p/a', 'p/b']), deadLetters: dlq });
  for (let n = 0; n < 3; n++) await r.engine.accept(incoming(n));
  await until(() => r.lanes.get('p/b')?.received.length === 3, 'pushed to p/b');
  dlq.failing = fsError('ENOSPC', 'write');
  r.setTable(routingTable(['p/a'], undefined, 2));
  r.engine.tableChanged();
  await until(() => !dlq.healthy, 'the dead-letter writes were tried');
  assert.equal(r.engine.stats().lanes['p/b']?.owed, 3, 'still owed while the queue fails');
  dlq.failing = undefined;
  await until(() => dlq.records.length === 3, 'dead-lettered once the queue works', 15_000);
  // Each record retries on its own backoff, so they land in any order.
  assert.deepEqual(dlq.records.map((d) => `${d.reason} ${String(d.event.n)}`).sort(), [
    'sink_removed 0',
    'sink_removed 1',
    'sink_removed 2',
  ]);
  assert.equal(r.engine.stats().lanes['p/b']?.owed ?? 0, 0);
});

it('a match error that cannot be dead-lettered before shutdown is routed (and dead-lettered) again at the next start', async () => {
  const failing = (e: { body: Record<string, unknown> }) =>
    e.body.n === 1 ? { failures: [{ pipeline: 'q', error: 'when failed' }], lanes: ['p/a'] } : { lanes: ['p/a'] };
  const broken = new MemoryDeadLetters();
  broken.failing = fsError('EIO', 'write');
  const first = await rig({ table: routingTable(['p/a'], failing), deadLetters: broken });
  await first.engine.accept(incoming(0));
  await first.engine.accept(incoming(1));
  await until(() => !broken.healthy, 'the match error was tried');
  await first.engine.shutdown(0);
  rigs.pop();

  const working = new MemoryDeadLetters();
  const second = await rig({ table: routingTable(['p/a'], failing), deadLetters: working });
  await until(() => working.records.length === 1, 'the match error is dead-lettered after the restart');
  assert.equal(working.records[0]!.reason, 'match_error');
  assert.equal(working.records[0]!.event.n, 1);
  await until(() => second.lanes.get('p/a')!.received.length === 2, 'both events still delivered to p/a');
});
