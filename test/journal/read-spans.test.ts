import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readSpans } from '../../src/journal/read-spans.ts';

const at = (segment: number, offset: number, size: number) => ({ segment, offset, size });

describe('readSpans', () => {
  it('joins neighbours in one segment into one read, gaps (ROUTED/DONE frames) included', () => {
    assert.deepEqual(readSpans([at(1, 0, 10), at(1, 10, 5), at(1, 40, 5)]), [
      { segment: 1, offset: 0, length: 45, items: [0, 1, 2] },
    ]);
  });

  it('starts a new read at a segment change, a wide gap, a backwards offset or the span limit', () => {
    const spans = readSpans([at(1, 0, 10), at(2, 10, 10), at(2, 200, 10), at(2, 100, 10), at(2, 110, 50)], 50, 40);
    assert.deepEqual(
      spans.map((s) => [s.segment, s.offset, s.length, s.items]),
      [
        [1, 0, 10, [0]],
        [2, 10, 10, [1]],
        [2, 200, 10, [2]],
        [2, 100, 10, [3]],
        [2, 110, 50, [4]],
      ],
    );
  });

  it('returns nothing for nothing', () => {
    assert.deepEqual(readSpans([]), []);
  });
});
