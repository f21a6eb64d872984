import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  BACKLOG_GROWING_PERCENT,
  BacklogHeap,
  ENTER_EVENTS,
  EXIT_EVENTS,
  watchBacklogHeap,
} from '../../src/delivery/backlog-heap.ts';

function recorder() {
  const flags: string[] = [];
  const logs: string[] = [];
  const heap = new BacklogHeap(
    { info: (_o: object, msg?: string) => void logs.push(msg ?? '') } as never,
    (f) => void flags.push(f),
  );
  return { heap, flags, logs };
}

describe('BacklogHeap', () => {
  it('sizes the heap for memory once a large backlog is owed, and back for throughput once it drained', () => {
    const { heap, flags, logs } = recorder();
    heap.update(0);
    heap.update(ENTER_EVENTS - 1);
    assert.deepEqual(flags, [], 'everyday traffic keeps V8 defaults');
    heap.update(ENTER_EVENTS);
    assert.equal(heap.active, true);
    assert.deepEqual(flags, [`--heap-growing-percent=${BACKLOG_GROWING_PERCENT}`]);
    heap.update(ENTER_EVENTS * 100);
    heap.update(EXIT_EVENTS + 1);
    assert.equal(flags.length, 1, 'no flapping between the two thresholds');
    heap.update(EXIT_EVENTS);
    assert.equal(heap.active, false);
    assert.deepEqual(flags, [`--heap-growing-percent=${BACKLOG_GROWING_PERCENT}`, '--heap-growing-percent=0']);
    assert.equal(logs.length, 2);
  });

  it('puts the default back when the watch stops in backlog mode', () => {
    const { heap, flags } = recorder();
    const stop = watchBacklogHeap(() => 0, { info: () => {} }, heap);
    heap.update(ENTER_EVENTS);
    stop();
    assert.equal(heap.active, false);
    assert.equal(flags.at(-1), '--heap-growing-percent=0');
  });

  it('uses a V8 flag this Node knows (setFlagsFromString ignores unknown ones silently)', () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', maxBuffer: 16 << 20 });
    assert.match(options, /--heap-growing-percent\b/);
  });
});
