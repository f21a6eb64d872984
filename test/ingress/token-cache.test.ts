import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExpiringLru, tokenKey } from '../../src/ingress/token-cache.ts';

describe('ExpiringLru', () => {
  it('drops entries at their expiry', () => {
    const c = new ExpiringLru<string>(10);
    c.set('a', 'x', 100);
    assert.equal(c.get('a', 99), 'x');
    assert.equal(c.get('a', 100), undefined);
    assert.equal(c.size, 0);
  });

  it('evicts the least recently used entry when full (a hit counts as use)', () => {
    const c = new ExpiringLru<number>(3);
    c.set('a', 1, Infinity);
    c.set('b', 2, Infinity);
    c.set('c', 3, Infinity);
    assert.equal(c.get('a', 0), 1);
    c.set('d', 4, Infinity);
    assert.equal(c.size, 3);
    assert.equal(c.get('b', 0), undefined, 'b was the least recently used');
    assert.deepEqual(
      ['a', 'c', 'd'].map((k) => c.get(k, 0)),
      [1, 3, 4],
    );
    c.clear();
    assert.equal(c.size, 0);
  });

  it('keys are SHA-256 digests, not the token', () => {
    const key = tokenKey('eyJhbGciOi.secret.sig');
    assert.equal(Buffer.from(key, 'base64').length, 32);
    assert.ok(!key.includes('secret'));
    assert.equal(key, tokenKey('eyJhbGciOi.secret.sig'));
  });
});
