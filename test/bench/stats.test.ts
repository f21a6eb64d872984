// Percentiles and min/median/max spreads used for every bench figure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile, spread } from '../../bench/harness/stats.ts';

test('percentile uses nearest rank on sorted input', () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(xs, 0.5), 50);
  assert.equal(percentile(xs, 0.99), 99);
  assert.equal(percentile(xs, 1), 100);
  assert.equal(percentile([7], 0.99), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

test('spread gives min, median (mean of the middle two when even) and max, ignoring NaN', () => {
  assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3 });
  assert.deepEqual(spread([4, 1, 3, 2]), { min: 1, median: 2.5, max: 4 });
  assert.deepEqual(spread([5, Number.NaN]), { min: 5, median: 5, max: 5 });
  const empty = spread([]);
  assert.ok(Number.isNaN(empty.min) && Number.isNaN(empty.median) && Number.isNaN(empty.max));
});
