import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LaneFeed, type EngineLane, type FeedSource } from '../../src/delivery/lane-feed.ts';
import { OwedIndex } from '../../src/journal/owed-index.ts';
import type { EventRecord } from '../../src/events/record.ts';
import type { LaneSpec } from '../../src/pipelines/table.ts';

const CAP = 4;
const spec = { key: 'p/a', queue: { capacity: CAP, concurrency: 1 } } as LaneSpec;
const record = (id: number): EventRecord => ({
  id,
  receivedAt: 0,
  eventName: 'e',
  raw: Buffer.from('{}'),
  body: { id },
});

function setup() {
  const index = new OwedIndex();
  let head = 0;
  const reads: number[] = [];
  const held: EventRecord[] = [];
  const lane: EngineLane = {
    get size() {
      return held.length;
    },
    get hasRoom() {
      return held.length < CAP;
    },
    push: (e) => void held.push(e),
    onRoom: () => {},
    drain: async () => {},
    close: () => {},
  };
  const source: FeedSource = {
    index,
    head: () => head,
    active: () => true,
    read: async (id) => (reads.push(id), record(id)),
    giveUp: () => {},
  };
  const feed = new LaneFeed(spec, lane, source, { spilled: false, cursor: 1 });
  /** Journal, route and offer event `id` the way the engine does. */
  const arrive = (id: number) => {
    index.addEvent(id, { segment: 1, offset: id * 100, size: 100 });
    index.setRouted(id, ['p/a']);
    head = id;
    feed.offer(record(id));
  };
  const finish = (n: number) => held.splice(0, n).forEach((e) => index.finish(e.id, 'p/a'));
  return { feed, held, reads, arrive, finish };
}

describe('LaneFeed', () => {
  it('offers live while the lane has room, spills when it is full, refills from disk in order and goes live again', async () => {
    const t = setup();
    for (let id = 1; id <= 10; id++) t.arrive(id);
    assert.deepEqual(
      t.held.map((e) => e.id),
      [1, 2, 3, 4],
    );
    assert.equal(t.feed.spilled, true);
    assert.equal(t.feed.cursor, 5, 'the backlog starts at the first event that did not fit');
    t.finish(3);
    await t.feed.refill();
    assert.deepEqual(
      t.held.map((e) => e.id),
      [4, 5, 6, 7],
      'refilled up to capacity, in order',
    );
    assert.deepEqual(t.reads, [5, 6, 7]);
    t.finish(4);
    await t.feed.refill();
    assert.deepEqual(
      t.held.map((e) => e.id),
      [8, 9, 10],
    );
    assert.equal(t.feed.spilled, false, 'caught up with the head: live again');
    t.arrive(11);
    assert.deepEqual(
      t.held.map((e) => e.id),
      [8, 9, 10, 11],
    );
    assert.deepEqual(t.reads, [5, 6, 7, 8, 9, 10], 'live events are never read back');
  });

  it('does nothing for a closed feed', async () => {
    const t = setup();
    for (let id = 1; id <= 6; id++) t.arrive(id);
    t.finish(4);
    t.feed.closed = true;
    await t.feed.refill();
    assert.equal(t.held.length, 0);
    assert.deepEqual(t.reads, []);
  });
});
