import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../src/delivery/policy.ts';
import { classify } from '../../src/delivery/verdict.ts';

const policy = { attempts: 10, initialDelayMs: 100, maxDelayMs: 1000 };
const lowest = () => 0;
const highest = () => 0.999999999;

test('full jitter: each attempt is within [0, min(max, initial * 2^(n-1))]', () => {
  const bounds = [100, 200, 400, 800, 1000, 1000];
  bounds.forEach((bound, i) => {
    assert.equal(backoffDelay(i + 1, policy, lowest), 0);
    assert.equal(backoffDelay(i + 1, policy, highest), bound);
    assert.equal(
      backoffDelay(i + 1, policy, () => 0.5),
      Math.floor(0.5 * (bound + 1)),
    );
  });
});

test('the bound grows exponentially and is capped by maxDelay, even for huge attempt numbers', () => {
  const upper = [1, 2, 3, 4].map((n) => backoffDelay(n, policy, highest));
  assert.deepEqual(upper, [100, 200, 400, 800]);
  assert.equal(backoffDelay(5000, policy, highest), 1000);
});

test('random delays stay inside the bounds', () => {
  for (let n = 1; n <= 8; n++) {
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(n, policy);
      assert.ok(d >= 0 && d <= Math.min(1000, 100 * 2 ** (n - 1)), `attempt ${n}: ${d}`);
      assert.ok(Number.isInteger(d));
    }
  }
});

test('Retry-After is a floor, capped by maxDelay', () => {
  assert.equal(backoffDelay(1, policy, lowest, 700), 700);
  assert.equal(backoffDelay(1, policy, lowest, 60_000), 1000);
  // a jittered delay above Retry-After wins
  assert.equal(backoffDelay(4, policy, highest, 50), 800);
  // nonsense Retry-After is ignored
  assert.equal(backoffDelay(1, policy, lowest, Number.NaN), 0);
  assert.equal(backoffDelay(1, policy, lowest, -5), 0);
});

test('classify: nothing or ok is delivered', () => {
  assert.deepEqual(classify({ outcome: undefined }), { kind: 'ok' });
  assert.deepEqual(classify({ outcome: { ok: true } }), { kind: 'ok' });
});

test('classify: retryable and permanent outcomes keep status and Retry-After', () => {
  assert.deepEqual(
    classify({ outcome: { ok: false, retryable: true, error: 'HTTP 429', status: 429, retryAfterMs: 2000 } }),
    {
      kind: 'retry',
      error: 'HTTP 429',
      status: 429,
      retryAfterMs: 2000,
    },
  );
  assert.deepEqual(classify({ outcome: { ok: false, retryable: false, error: 'HTTP 400', status: 400 } }), {
    kind: 'permanent',
    error: 'HTTP 400',
    status: 400,
  });
});

test('classify: a thrown error or an invalid outcome is retryable', () => {
  assert.deepEqual(classify({ thrown: new Error('ECONNRESET') }), { kind: 'retry', error: 'ECONNRESET' });
  assert.deepEqual(classify({ thrown: 'boom' }), { kind: 'retry', error: 'boom' });
  assert.equal(classify({ outcome: 42 as never }).kind, 'retry');
});
