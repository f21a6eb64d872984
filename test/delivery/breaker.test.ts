import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Breaker, type BreakerState } from '../../src/delivery/breaker.ts';

function setup(threshold = 3, cooldownMs = 1000) {
  let now = 10_000;
  const b = new Breaker({ threshold, cooldownMs }, () => now);
  const changes: BreakerState[] = [];
  b.onStateChange((s) => changes.push(s));
  return { b, changes, advance: (ms: number) => (now += ms) };
}

test('opens after threshold consecutive failures; a success in between resets the count', () => {
  const { b, changes } = setup(3);
  b.onFailure();
  b.onFailure();
  b.onSuccess();
  b.onFailure();
  b.onFailure();
  assert.equal(b.state, 'closed');
  assert.ok(b.canPass());
  b.onFailure();
  assert.equal(b.state, 'open');
  assert.equal(b.canPass(), false);
  assert.deepEqual(changes, ['open']);
});

test('after the cooldown exactly one probe passes; its success closes the breaker', () => {
  const { b, changes, advance } = setup(1, 1000);
  b.onFailure();
  assert.equal(b.msUntilProbe(), 1000);
  advance(400);
  assert.equal(b.msUntilProbe(), 600);
  assert.equal(b.canPass(), false);
  advance(600);
  assert.equal(b.canPass(), true);
  assert.equal(b.state, 'half-open');
  assert.equal(b.canPass(), false, 'only one probe');
  b.onSuccess();
  assert.equal(b.state, 'closed');
  assert.ok(b.canPass());
  assert.deepEqual(changes, ['open', 'half-open', 'closed']);
});

test('a failed probe re-opens for another full cooldown', () => {
  const { b, advance } = setup(2, 500);
  b.onFailure();
  b.onFailure();
  advance(500);
  assert.ok(b.canPass());
  b.onFailure();
  assert.equal(b.state, 'open');
  assert.equal(b.msUntilProbe(), 500);
  advance(499);
  assert.equal(b.canPass(), false);
  advance(1);
  assert.ok(b.canPass());
});

test('late failures while open do not extend the cooldown', () => {
  const { b, advance } = setup(1, 1000);
  b.onFailure();
  advance(800);
  b.onFailure();
  assert.equal(b.msUntilProbe(), 200);
});
