import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { OwedIndex } from '../../src/journal/owed-index.ts';

const loc = (segment: number, offset: number) => ({ segment, offset, size: 100 });

describe('OwedIndex', () => {
  it('tracks routing, owed lanes and finishing per event', () => {
    const index = new OwedIndex();
    index.addEvent(1, loc(1, 0));
    index.addEvent(2, loc(1, 100));
    assert.equal(index.pendingEvents, 2);
    assert.equal(index.isRouted(1), false);
    assert.equal(index.setRouted(1, ['a', 'b', 'a']), true, 'duplicate lane keys count once');
    assert.equal(index.setRouted(1, ['c']), false, 'routing is recorded once');
    assert.equal(index.setRouted(2, []), true);
    assert.equal(index.pendingEvents, 1, 'an event owed to no lane is finished at once');
    assert.equal(index.owedBy('a'), 1);
    assert.deepEqual(index.owingLanes().sort(), ['a', 'b']);
    assert.equal(index.finish(1, 'a'), true);
    assert.equal(index.finish(1, 'a'), false, 'a duplicate settle changes nothing');
    assert.equal(index.isOwed(1, 'b'), true);
    assert.equal(index.pendingEvents, 1);
    assert.equal(index.finish(1, 'b'), true);
    assert.equal(index.pendingEvents, 0);
    assert.equal(index.isFinished(1), true);
    assert.deepEqual(index.location(2), loc(1, 100));
    assert.equal(index.location(3), undefined);
  });

  it('lists owed ids across segments and gaps, ascending, bounded by limit and head', () => {
    const index = new OwedIndex();
    // Ids 1..150 in segment 1 (id 50 is a gap: a quarantined event never journaled), 151..300 in segment 2.
    for (let id = 1; id <= 300; id++) if (id !== 50) index.addEvent(id, loc(id <= 150 ? 1 : 2, id * 10));
    for (let id = 1; id <= 300; id++) if (id !== 50) index.setRouted(id, id % 3 === 0 ? ['x'] : ['y']);
    assert.equal(index.location(50), undefined);
    const all = index.owedIds('x', 0, Infinity, 1000);
    assert.deepEqual(
      all,
      Array.from({ length: 100 }, (_, i) => (i + 1) * 3),
    );
    assert.deepEqual(index.owedIds('x', 140, 160, 1000), [141, 144, 147, 150, 153, 156, 159]);
    assert.deepEqual(index.owedIds('x', 0, Infinity, 2), [3, 6]);
    assert.equal(index.isFinished(1), false);
    for (let id = 1; id <= 150; id++) {
      index.finish(id, 'x');
      index.finish(id, 'y');
    }
    assert.equal(index.isFinished(1), true);
    assert.equal(index.isFinished(2), false);
    index.dropSegment(1);
    assert.equal(index.firstId, 151);
    assert.deepEqual(index.owedIds('x', 0, 160, 10), [153, 156, 159]);
  });

  it('lists journaled events that were never routed', () => {
    const index = new OwedIndex();
    for (let id = 10; id < 20; id++) index.addEvent(id, loc(3, id));
    index.setRouted(11, ['a']);
    index.setRouted(14, []);
    assert.deepEqual(index.unroutedIds(0, 100), [10, 12, 13, 15, 16, 17, 18, 19]);
    assert.deepEqual(index.unroutedIds(13, 3), [13, 15, 16]);
  });

  it('grows its arrays for large segments', () => {
    const index = new OwedIndex();
    // Routed as they arrive, the way the engine does it: the lane bitsets must grow along.
    for (let id = 1; id <= 5000; id++) {
      index.addEvent(id, loc(1, id));
      index.setRouted(id, ['a']);
    }
    assert.equal(index.owedBy('a'), 5000);
    assert.deepEqual(index.owedIds('a', 4998, Infinity, 10), [4998, 4999, 5000]);
    assert.deepEqual(index.location(4321), loc(1, 4321));
  });
});

test('a DONE met before its ROUTED (the ROUTED write failed, a later DONE did not) is honoured once the event is routed', () => {
  const index = new OwedIndex();
  index.addEvent(1, { segment: 1, offset: 17, size: 50 });
  assert.equal(index.finish(1, 'p/a'), false, 'nothing owed yet');
  assert.equal(index.setRouted(1, ['p/a', 'p/b']), true);
  assert.equal(index.isOwed(1, 'p/a'), false, 'p/a finished it already: not delivered again');
  assert.equal(index.isOwed(1, 'p/b'), true);
  assert.equal(index.owedBy('p/a'), 0);
  assert.equal(index.finish(1, 'p/b'), true);
  assert.equal(index.pendingEvents, 0);
});
