import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeenTable, type KeyHash } from '../../src/dedupe/seen-table.ts';

const k = (n: number): KeyHash => ({ hi: n * 2654435761, lo: Math.imul(n, 0x9e3779b1) });

describe('SeenTable', () => {
  it('answers the first event of a key until it expires', () => {
    const t = new SeenTable(100);
    t.remember(k(1), 7, 1000, 0);
    assert.equal(t.firstEvent(k(1), 999), 7);
    assert.equal(t.firstEvent(k(1), 1000), undefined, 'expired at its expiry');
    assert.equal(t.firstEvent(k(2), 0), undefined);
  });

  it('keeps the first sighting: a second remember within the window changes nothing', () => {
    const t = new SeenTable(100);
    t.remember(k(1), 7, 1000, 0);
    t.remember(k(1), 8, 2000, 10);
    assert.equal(t.firstEvent(k(1), 20), 7);
    assert.equal(t.size, 1);
  });

  it('replaces an expired sighting with a new one', () => {
    const t = new SeenTable(100);
    t.remember(k(1), 7, 1000, 0);
    t.remember(k(2), 8, 5000, 0);
    t.remember(k(1), 9, 3000, 1500);
    assert.equal(t.firstEvent(k(1), 1600), 9);
    assert.equal(t.firstEvent(k(2), 1600), 8);
  });

  it('holds at most maxKeys, forgetting the oldest first and counting it', () => {
    const t = new SeenTable(3);
    for (let i = 1; i <= 5; i++) t.remember(k(i), i, 1e9, 0);
    assert.equal(t.size, 3);
    assert.equal(t.evicted, 2);
    assert.equal(t.firstEvent(k(1), 0), undefined);
    assert.equal(t.firstEvent(k(2), 0), undefined);
    assert.deepEqual(
      [3, 4, 5].map((i) => t.firstEvent(k(i), 0)),
      [3, 4, 5],
    );
    t.setMaxKeys(1);
    assert.equal(t.firstEvent(k(4), 0), undefined);
    assert.equal(t.firstEvent(k(5), 0), 5);
  });

  it('agrees with a Map model over many random operations (growth, expiry, eviction, colliding buckets)', () => {
    let seed = 42;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const max = 3000;
    const t = new SeenTable(max);
    const model = new Map<number, { id: number; expiresAt: number; at: number }>();
    let now = 0;
    for (let op = 0; op < 60_000; op++) {
      now += Math.floor(rand() * 3);
      // Few distinct low bits: long probe runs exercise backward-shift deletion.
      const n = Math.floor(rand() * 8000);
      const key = { hi: n, lo: (n % 7) * 1024 + (n >> 3) };
      if (rand() < 0.6) {
        const expiresAt = now + 1 + Math.floor(rand() * 5000);
        t.remember(key, op, expiresAt, now);
        const m = model.get(n);
        if (!m || m.expiresAt <= now) {
          model.delete(n);
          model.set(n, { id: op, expiresAt, at: op });
        }
        // The model forgets expired-at-the-old-end and oldest-beyond-max the way the ring does (insertion order).
        for (const [key2, v] of model) {
          if (model.size <= max && v.expiresAt > now) break;
          if (model.size > max || v.expiresAt <= now) model.delete(key2);
        }
      } else {
        const m = model.get(n);
        const want = m && m.expiresAt > now ? m.id : undefined;
        assert.equal(t.firstEvent(key, now), want, `op ${op}: key ${n}`);
      }
    }
  });

  it('uses 32 bytes per key at full capacity', () => {
    const t = new SeenTable(1 << 16);
    for (let i = 0; i < 1 << 16; i++) t.remember(k(i), i, 1e12, 0);
    assert.equal(t.bytes / t.size, 32);
  });
});
