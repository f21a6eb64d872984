// SendStats: percentiles within the histogram's 2% precision, bounded error kinds, summary text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendStats, summary } from '../../src/cli/send-stats.ts';

test('percentiles are within 2% of the exact ones; max is exact', () => {
  const stats = new SendStats();
  for (let i = 1; i <= 1000; i++) stats.response(200, i / 10); // 0.1 .. 100 ms
  for (const [fraction, exact] of [
    [0.5, 50],
    [0.9, 90],
    [0.99, 99],
  ] as const) {
    const got = stats.percentile(fraction);
    assert.ok(got >= exact && got <= exact * 1.02, `p${fraction * 100}: ${got}`);
  }
  assert.equal(stats.max, 100);
  assert.equal(stats.percentile(1), 100);
});

test('status counts, ok count and bounded error kinds', () => {
  const stats = new SendStats();
  stats.response(200, 1);
  stats.response(503, 1);
  for (let i = 0; i < 30; i++) stats.failure(`E${i}`, 1);
  assert.equal(stats.sent, 32);
  assert.equal(stats.ok, 1);
  assert.equal(stats.errorCount, 30);
  assert.equal(stats.errors.size, 21);
  assert.equal(stats.errors.get('other'), 10);
  const text = summary(stats, 'http://127.0.0.1:1/webhook', 1000);
  assert.match(text, /^sent 32 requests to http:\/\/127\.0\.0\.1:1\/webhook in 1\.00s \(32\.0\/s\)$/m);
  assert.match(text, /^status: 200: 1, 503: 1$/m);
  assert.match(text, /^errors: 30 \(other: 10, /m);
});

test('an empty run summarises without dividing by zero', () => {
  const text = summary(new SendStats(), 'http://x/', 0);
  assert.match(text, /status: none/);
  assert.match(text, /p50 0\.00/);
});
