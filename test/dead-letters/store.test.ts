import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeadLetterStore, newDeadLetterId, type DeadLetter } from '../../src/dead-letters/store.ts';

function rec(over: Partial<DeadLetter> = {}): DeadLetter {
  return {
    id: newDeadLetterId(),
    reason: 'delivery_failed',
    eventId: 1,
    eventName: 'emailBounce',
    receivedAt: 1000,
    event: { eventName: 'emailBounce', email: 'a@example.com' },
    pipeline: 'bounces',
    sink: 'http',
    attempts: 3,
    lastError: 'HTTP 503',
    deadAt: 2000,
    ...over,
  };
}

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-dlq-'));
  try {
    await fn(join(dir, 'dlq'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function all(store: DeadLetterStore, filter = {}) {
  const out: DeadLetter[] = [];
  for await (const r of store.list(filter)) out.push(r);
  return out;
}

test('append then list and filter, in order', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir);
    const a = rec({ eventId: 1 });
    const b = rec({ eventId: 2, sink: 'slack' });
    const c = rec({
      eventId: 3,
      pipeline: undefined,
      sink: undefined,
      reason: 'quarantined',
      issues: [{ path: '/x', message: 'bad' }],
    });
    await Promise.all([store.append(a), store.append(b), store.append(c)]);
    assert.deepEqual(
      (await all(store)).map((r) => r.eventId),
      [1, 2, 3],
    );
    assert.deepEqual(
      (await all(store, { sink: 'slack' })).map((r) => r.eventId),
      [2],
    );
    assert.deepEqual((await all(store, { reason: 'quarantined' }))[0]?.issues, [{ path: '/x', message: 'bad' }]);
    await store.close();
  }));

test('summary groups by pipeline, sink and reason with the latest error', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir, { fsync: 'always' });
    await store.append(rec({ lastError: 'old', deadAt: 10 }));
    await store.append(rec({ lastError: 'new', deadAt: 20 }));
    await store.append(rec({ reason: 'permanent_error', lastError: 'HTTP 400', status: 400, deadAt: 5 }));
    await store.append(
      rec({ pipeline: undefined, sink: undefined, reason: 'quarantined', lastError: 'schema', deadAt: 7 }),
    );
    assert.deepEqual(await store.summary(), [
      { pipeline: null, sink: null, reason: 'quarantined', count: 1, lastError: 'schema', lastAt: 7 },
      { pipeline: 'bounces', sink: 'http', reason: 'delivery_failed', count: 2, lastError: 'new', lastAt: 20 },
      { pipeline: 'bounces', sink: 'http', reason: 'permanent_error', count: 1, lastError: 'HTTP 400', lastAt: 5 },
    ]);
    assert.equal((await store.summary({ reason: 'quarantined' })).length, 1);
    await store.close();
  }));

test('take keeps records on disk until commit; release hands them back', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir);
    await store.append(rec({ eventId: 1 }));
    await store.append(rec({ eventId: 2, sink: 'slack' }));
    await store.append(rec({ eventId: 3 }));

    const t1 = await store.take({ sink: 'http' });
    assert.deepEqual(
      t1.records.map((r) => r.eventId),
      [1, 3],
    );
    assert.equal((await all(store)).length, 3, 'still on disk before commit');
    assert.equal((await store.take({ sink: 'http' })).records.length, 0, 'not handed out twice');
    // appends during a take land in a new file and survive the commit
    await store.append(rec({ eventId: 4 }));
    await t1.commit();
    assert.deepEqual(
      (await all(store)).map((r) => r.eventId),
      [2, 4],
    );

    const t2 = await store.take({}, { limit: 1 });
    assert.deepEqual(
      t2.records.map((r) => r.eventId),
      [2],
    );
    t2.release();
    const t3 = await store.take({}, { where: (r) => r.eventId !== 2 });
    assert.deepEqual(
      t3.records.map((r) => r.eventId),
      [4],
    );
    await t3.commit();
    assert.deepEqual(
      (await all(store)).map((r) => r.eventId),
      [2],
    );
    await store.close();
  }));

test('a crash between take and commit loses nothing', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir);
    await store.append(rec({ eventId: 1 }));
    const t = await store.take();
    assert.equal(t.records.length, 1);
    await store.close(); // "crash": never committed
    const again = await DeadLetterStore.open(dir);
    assert.deepEqual(
      (await all(again)).map((r) => r.eventId),
      [1],
    );
    await again.close();
  }));

test('a torn last line is skipped and cut off; reopen appends cleanly', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir);
    await store.append(rec({ eventId: 1 }));
    await store.close();
    const [file] = await readdir(dir);
    await appendFile(join(dir, file!), '{"id":"torn","reason":"deli');
    const reopened = await DeadLetterStore.open(dir);
    assert.deepEqual(
      (await all(reopened)).map((r) => r.eventId),
      [1],
    );
    await reopened.append(rec({ eventId: 2 }));
    assert.deepEqual(
      (await all(reopened)).map((r) => r.eventId),
      [1, 2],
    );
    await reopened.close();
    const text = await readFile(join(dir, file!), 'utf8');
    assert.equal(text.split('\n').filter(Boolean).length, 2);
    assert.ok(!text.includes('torn'));
  }));

test('list skips garbage lines anywhere and rotates by size', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir, { maxFileBytes: 300 });
    for (let i = 1; i <= 5; i++) await store.append(rec({ eventId: i }));
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort();
    assert.ok(files.length >= 3, `rotated into ${files.length} files`);
    await appendFile(join(dir, files[0]!), 'not json\n{"also":"not a record"}\n');
    assert.deepEqual(
      (await all(store)).map((r) => r.eventId),
      [1, 2, 3, 4, 5],
    );
    await store.close();
    await assert.rejects(store.append(rec()), /closed/);
  }));

test('many concurrent appends all land', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir);
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.append(rec({ eventId: i }))));
    const ids = (await all(store)).map((r) => r.eventId).sort((a, b) => a - b);
    assert.deepEqual(
      ids,
      Array.from({ length: 200 }, (_, i) => i),
    );
    await store.close();
  }));

test('appends racing a take are neither lost nor taken twice', () =>
  withDir(async (dir) => {
    const store = await DeadLetterStore.open(dir);
    for (let i = 0; i < 20; i++) await store.append(rec({ eventId: i }));
    const racing = Array.from({ length: 50 }, (_, i) => store.append(rec({ eventId: 100 + i })));
    const taken = await store.take();
    const more = Array.from({ length: 50 }, (_, i) => store.append(rec({ eventId: 200 + i })));
    await Promise.all([...racing, ...more]);
    await taken.commit();
    const takenIds = new Set(taken.records.map((r) => r.eventId));
    const left = (await all(store)).map((r) => r.eventId);
    assert.equal(takenIds.size + left.length, 120);
    assert.ok(left.every((id) => !takenIds.has(id)));
    for (let i = 0; i < 20; i++) assert.ok(takenIds.has(i));
    for (let i = 200; i < 250; i++) assert.ok(left.includes(i));
    await store.close();
  }));
