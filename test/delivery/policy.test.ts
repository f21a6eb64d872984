import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { compilePolicy, mayRetry, RetrySchema } from '../../src/delivery/policy.ts';

test('defaults: 8 attempts, 500ms..5m backoff, concurrency 4, capacity 1000, breaker 10 / 10s', () => {
  assert.deepEqual(compilePolicy({}), {
    retry: { attempts: 8, initialDelayMs: 500, maxDelayMs: 300_000 },
    queue: { concurrency: 4, capacity: 1000 },
    breaker: { threshold: 10, cooldownMs: 10_000 },
  });
});

test('the entry wins over the sink type defaults, which win over the schema', () => {
  const p = compilePolicy({ queue: { capacity: 5 } }, { concurrency: 1, rate: '1/s' });
  assert.deepEqual(p.queue, { concurrency: 1, rate: { count: 1, intervalMs: 1000 }, capacity: 5 });
  assert.equal(compilePolicy({ queue: { concurrency: 9 } }, { concurrency: 1 }).queue.concurrency, 9);
});

test('attempts: unlimited is Infinity; maxAge in milliseconds; the breaker cooldown is capped by maxDelay', () => {
  const p = compilePolicy({
    retry: { attempts: 'unlimited', maxAge: '3d', maxDelay: '2s' },
    breaker: { cooldown: '1m' },
  });
  assert.equal(p.retry.attempts, Number.POSITIVE_INFINITY);
  assert.equal(p.retry.maxAgeMs, 3 * 86_400_000);
  assert.equal(p.breaker.cooldownMs, 2000);
});

test('the retry schema takes a count or `unlimited`, nothing else', () => {
  const check = (retry: object) => Value.Check(RetrySchema, Value.Default(RetrySchema, retry));
  assert.ok(check({ attempts: 'unlimited', maxAge: '3d' }));
  assert.ok(check({ attempts: 100 }));
  assert.ok(!check({ attempts: 'forever' }));
  assert.ok(!check({ attempts: 0 }));
  assert.ok(!check({ maxAge: 'soon' }));
});

test('mayRetry: attempts left and, with maxAge, not failing for too long', () => {
  const policy = { attempts: 3, initialDelayMs: 1, maxDelayMs: 1 };
  assert.equal(mayRetry(policy, 2, 0, 0), true);
  assert.equal(mayRetry(policy, 3, 0, 0), false);
  const aged = { ...policy, attempts: Number.POSITIVE_INFINITY, maxAgeMs: 1000 };
  assert.equal(mayRetry(aged, 1e9, 5000, 5999), true);
  assert.equal(mayRetry(aged, 1, 5000, 6000), false);
  assert.equal(mayRetry(aged, 1, undefined, 6000), true, 'no failure time yet: only attempts count');
});

test('batch: omitted is none; given, each limit defaults to 500 events / 1mb / 1s', () => {
  assert.equal(compilePolicy({}).batch, undefined);
  assert.deepEqual(compilePolicy({ batch: {} }).batch, { maxEvents: 500, maxBytes: 1 << 20, maxWaitMs: 1000 });
  assert.deepEqual(compilePolicy({ batch: { maxEvents: 50, maxWait: '200ms', maxBytes: '64kb' } }).batch, {
    maxEvents: 50,
    maxBytes: 65_536,
    maxWaitMs: 200,
  });
});

test('batch: the lane holds at least 4 batches unless queue.capacity is set', () => {
  assert.equal(compilePolicy({ batch: { maxEvents: 500 } }).queue.capacity, 2000);
  assert.equal(compilePolicy({ batch: { maxEvents: 100 } }).queue.capacity, 1000);
  assert.equal(compilePolicy({ batch: { maxEvents: 500 }, queue: { capacity: 600 } }).queue.capacity, 600);
});

test('concurrency adaptive (the http default): starts at 1, bounded by maxConcurrency (default 128)', () => {
  assert.deepEqual(compilePolicy({}, { concurrency: 'adaptive' }).queue, {
    concurrency: 1,
    adaptive: { maxConcurrency: 128 },
    capacity: 1000,
  });
  assert.deepEqual(compilePolicy({ queue: { concurrency: 'adaptive', maxConcurrency: 16 } }).queue.adaptive, {
    maxConcurrency: 16,
  });
  // A number still fixes it, over the sink type's adaptive default.
  const fixed = compilePolicy({ queue: { concurrency: 8 } }, { concurrency: 'adaptive' }).queue;
  assert.deepEqual([fixed.concurrency, fixed.adaptive], [8, undefined]);
});
