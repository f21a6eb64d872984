import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendUntilStored } from '../../src/dead-letters/durable-append.ts';
import type { DeadLetter } from '../../src/dead-letters/store.ts';

const rec = {
  id: 'x',
  reason: 'delivery_failed',
  eventId: 1,
  eventName: 'e',
  receivedAt: 0,
  event: {},
  attempts: 1,
  lastError: 'e',
  deadAt: 0,
} as DeadLetter;

test('retries a failing append until it is stored', async () => {
  let fails = 3;
  const stored: DeadLetter[] = [];
  const errors: number[] = [];
  const ok = await appendUntilStored(
    {
      append: async (r) => {
        if (fails-- > 0) throw new Error('ENOSPC');
        stored.push(r);
      },
    },
    rec,
    { signal: new AbortController().signal, random: () => 0, onError: (_e, n) => errors.push(n) },
  );
  assert.equal(ok, true);
  assert.deepEqual(stored, [rec]);
  assert.deepEqual(errors, [1, 2, 3]);
});

test('gives up (false) when the signal aborts during the backoff', async () => {
  const ctl = new AbortController();
  const pending = appendUntilStored(
    {
      append: async () => {
        throw new Error('EIO');
      },
    },
    rec,
    { signal: ctl.signal, random: () => 0.99 },
  );
  setTimeout(() => ctl.abort(), 10);
  assert.equal(await pending, false);
});
