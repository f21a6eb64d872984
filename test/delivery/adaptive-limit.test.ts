import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveLimit } from '../../src/delivery/adaptive-limit.ts';

/** Drive a limit with a fake clock: each window, `limit` sends start (reaching it) and end after `rttMs`. */
function driver(max = 128) {
  let now = 0;
  const changes: number[] = [];
  const limit = new AdaptiveLimit({ max, now: () => now, onChange: (n) => changes.push(n) });
  const window = (rttMs: number, signal: 'ok' | 'back_pressure' = 'ok', sends = limit.limit) => {
    for (let i = 1; i <= sends; i++) limit.started(i);
    now += rttMs;
    for (let i = 0; i < sends; i++) limit.finished(signal, rttMs);
    return limit.limit;
  };
  return { limit, window, changes };
}

test('slow start: doubles per round trip while answers stay at baseline, up to max', () => {
  const { window } = driver(100);
  const seen = Array.from({ length: 9 }, () => window(50));
  assert.deepEqual(seen, [1, 2, 4, 8, 16, 32, 64, 100, 100]);
});

test('a limit not reached is not raised: no evidence a higher one would be used', () => {
  const { limit, window } = driver();
  for (let i = 0; i < 5; i++) window(50);
  const at = limit.limit;
  for (let i = 0; i < 5; i++) window(50, 'ok', Math.max(1, at - 2));
  assert.equal(limit.limit, at);
});

test('back pressure: multiplicative decrease, then additive increase (+1 per round trip)', () => {
  const { window } = driver();
  for (let i = 0; i < 6; i++) window(50); // 32
  assert.equal(window(50, 'back_pressure'), 28); // floor(32 * 0.9)
  assert.deepEqual([window(50), window(50), window(50)], [29, 30, 31]);
});

test('slow then fast: latency well above baseline shrinks the limit; fast answers grow it back', () => {
  const { limit, window } = driver();
  for (let i = 0; i < 6; i++) window(20);
  window(20, 'back_pressure'); // out of slow start
  const peak = limit.limit;
  for (let i = 0; i < 3; i++) window(200); // the destination slows down
  const slowed = limit.limit;
  assert.ok(slowed < peak, `${slowed} < ${peak}`);
  for (let i = 0; i < 10; i++) window(200); // slow but steady: the baseline follows, the limit holds or grows slowly
  const steady = limit.limit;
  for (let i = 0; i < 20; i++) window(20); // fast again
  assert.ok(limit.limit > steady, `grew back: ${limit.limit} > ${steady}`);
  assert.ok(limit.state().baselineRttMs! < 200);
});

test('never below 1, never above max; the state shows the baseline', () => {
  const { limit, window } = driver(4);
  for (let i = 0; i < 10; i++) window(10);
  assert.equal(limit.limit, 4);
  for (let i = 0; i < 40; i++) window(10, 'back_pressure');
  assert.equal(limit.limit, 1);
  assert.deepEqual(Object.keys(limit.state()).sort(), ['baselineRttMs', 'deviationRttMs', 'limit', 'max']);
});
