// Memory of seen dedupe keys: a million distinct keys, and twice that past maxKeys, stay within the documented figure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemorySeenKeys } from '../../src/dedupe/seen-keys.ts';
import { BYTES_PER_KEY } from '../../src/dedupe/seen-table.ts';

const MB = 1024 * 1024;
setFlagsFromString('--expose-gc');
/** A full collection, so garbage from the loop (and arrays a growth replaced) is not counted as held. */
const gc = runInNewContext('gc') as () => void;
const rssNow = () => {
  gc();
  return process.memoryUsage().rss;
};
/**
 * docs/dedupe.md: 32 bytes a key in typed arrays (31 MiB for the default maxKeys of 1,000,000); RSS grows by at most
 * 64 MiB, because arrays replaced while the table grew are not always handed back to the OS at once.
 */
const DOCUMENTED_RSS_PER_MILLION = 64 * MB;

test('1M distinct keys: 32 bytes each, RSS within 64 MB; 2M keys with maxKeys 1M: no more', () => {
  const seen = new MemorySeenKeys();
  const before = rssNow();
  const day = 86_400_000;
  const now = 1_700_000_000_000;
  for (let i = 0; i < 2_000_000; i++) {
    // Distinct 64-bit hashes (the hashing itself is not what is measured here).
    const hash = { hi: i, lo: Math.imul(i, 0x9e3779b1) };
    seen.remember({ pipeline: 'bounces', hash, eventId: i, expiresAt: now + day }, 1_000_000, now);
    if (i === 999_999) {
      assert.deepEqual(seen.stats('bounces'), { keys: 1_000_000, evicted: 0 });
      assert.ok(
        seen.bytes('bounces') <= 1_000_000 * BYTES_PER_KEY + 8 * MB,
        `${seen.bytes('bounces')} bytes in arrays`,
      );
      const rss = rssNow() - before;
      assert.ok(rss <= DOCUMENTED_RSS_PER_MILLION, `RSS grew ${(rss / MB).toFixed(1)} MB for 1M keys`);
    }
  }
  assert.deepEqual(seen.stats('bounces'), { keys: 1_000_000, evicted: 1_000_000 });
  const rss = rssNow() - before;
  assert.ok(rss <= DOCUMENTED_RSS_PER_MILLION, `RSS grew ${(rss / MB).toFixed(1)} MB holding 1M of 2M keys`);
  assert.equal(BYTES_PER_KEY, 32);
  assert.ok(seen.bytes('bounces') <= 1_000_000 * BYTES_PER_KEY + 8 * MB);
  // The newest million are the ones held.
  assert.equal(seen.firstEvent('bounces', { hi: 1_999_999, lo: Math.imul(1_999_999, 0x9e3779b1) }, now), 1_999_999);
  assert.equal(seen.firstEvent('bounces', { hi: 5, lo: Math.imul(5, 0x9e3779b1) }, now), undefined);
});
