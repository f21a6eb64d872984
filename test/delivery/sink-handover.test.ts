import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SinkHandover } from '../../src/delivery/sink-handover.ts';
import type { SinkInstance } from '../../src/sinks/define.ts';

function sink() {
  const s = { closed: 0, send: async () => undefined, close: async () => void s.closed++ };
  return s as SinkInstance & { closed: number };
}
const tick = () => new Promise((r) => setImmediate(r));

test('a retired sink closes after its last send; an idle one at once; close errors are reported', async () => {
  const errors: unknown[] = [];
  const h = new SinkHandover((e) => errors.push(e));
  const busy = sink();
  h.acquire(busy);
  h.acquire(busy);
  h.retire(busy);
  h.release(busy);
  await tick();
  assert.equal(busy.closed, 0);
  h.release(busy);
  await tick();
  assert.equal(busy.closed, 1);

  const idle = sink();
  h.retire(idle);
  await tick();
  assert.equal(idle.closed, 1);

  const bad: SinkInstance = {
    send: async () => undefined,
    close: async () => {
      throw new Error('flush failed');
    },
  };
  const current = sink();
  const stuck = sink();
  h.acquire(stuck);
  h.retire(stuck);
  h.retire(bad);
  await h.closeAll(current);
  await tick();
  assert.equal(current.closed, 1);
  assert.equal(stuck.closed, 1, 'shutdown does not wait for a stuck send');
  assert.equal(errors.length, 1);
});

test('a sink whose close never settles is left behind after the close timeout, and reported', async () => {
  const errors: unknown[] = [];
  const h = new SinkHandover((e) => errors.push(e), 30);
  const stuck = { send: async () => undefined, close: () => new Promise<void>(() => {}) } as SinkInstance;
  await h.closeAll(stuck); // resolves although close() never does
  assert.equal(errors.length, 1);
  assert.match(String(errors[0]), /did not close within 30 ms/);
});
