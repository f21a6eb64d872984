import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Metrics } from '../../src/admin/metrics.ts';
import { decodeRouted, encodeRouted } from '../../src/journal/format.ts';
import { dedupeDir, journalDir } from '../../src/journal/layout.ts';
import { SegmentStore } from '../../src/journal/segment-store.ts';
import { silentLogger } from '../../src/log.ts';
import type { SeenKey } from '../../src/storage/seen-keys.ts';

let dir: string;
beforeEach(async () => void (dir = await mkdtemp(join(tmpdir(), 'hookroute-seen-'))));
afterEach(() => rm(dir, { recursive: true, force: true }));

const open = (dedupeLimits?: Map<string, number>) =>
  SegmentStore.open({
    storage: { dir, fsync: 'batch', segmentBytes: 1 << 20, maxDiskBytes: 1 << 30 },
    metrics: new Metrics({ processMetrics: false }),
    logger: silentLogger,
    ...(dedupeLimits ? { dedupeLimits } : {}),
  });
const hash = { hi: 0xdeadbeef, lo: 0x12345678 };
const stored = (s: SegmentStore) =>
  s.append({ receivedAt: Date.now(), eventName: 'emailBounce', raw: Buffer.from('{"eventName":"emailBounce"}') });

describe('seen dedupe keys in the segment journal', () => {
  it('ROUTED carries the keys; a record without them reads as before', () => {
    const key: SeenKey = { pipeline: 'alerts', hash, eventId: 3, expiresAt: 1.7e12 };
    const entries = decodeRouted(
      encodeRouted([
        { id: 3, lanes: ['alerts/slack'], seen: [key] },
        { id: 4, lanes: [] },
      ]),
    );
    assert.deepEqual(entries, [
      { id: 3, lanes: ['alerts/slack'], seen: [key] },
      { id: 4, lanes: [] },
    ]);
    assert.deepEqual(decodeRouted(encodeRouted([{ id: 5, lanes: ['a/b'] }])), [{ id: 5, lanes: ['a/b'] }]);
  });

  it('a key whose seen-log write was lost is recovered from the ROUTED record of its still-owed event', async () => {
    const s = await open();
    const { id, durable } = stored(s);
    await durable;
    s.routed([
      {
        id,
        lanes: ['alerts/slack'],
        seen: [{ pipeline: 'alerts', hash, eventId: id, expiresAt: Date.now() + 60_000 }],
      },
    ]);
    await s.close();
    await rm(dedupeDir(dir), { recursive: true }); // as if the seen log never got the key before the crash
    const again = await open();
    assert.equal(again.seen.firstEvent('alerts', hash, Date.now()), id);
    await again.close();
  });

  it('a key outlives the journal segment that carried it: the seen log is synced before the segment is deleted', async () => {
    const s = await open();
    const { id, durable } = stored(s);
    await durable;
    s.routed([
      {
        id,
        lanes: ['alerts/slack'],
        seen: [{ pipeline: 'alerts', hash, eventId: id, expiresAt: Date.now() + 60_000 }],
      },
    ]);
    assert.ok(s.finish('alerts/slack', id));
    await s.close();
    const before = await readdir(journalDir(dir));
    // Reopening seals that segment; everything in it is finished, so it is deleted.
    await (await open()).close();
    const after = await readdir(journalDir(dir));
    assert.ok(!after.includes(before[0]!), `segment ${before[0]} deleted (left: ${after.join(', ')})`);
    const again = await open();
    assert.equal(again.seen.firstEvent('alerts', hash, Date.now()), id, 'restored from the seen log alone');
    await again.close();
  });

  it('expired keys are not restored, and their files go', async () => {
    const s = await open();
    const { id, durable } = stored(s);
    await durable;
    s.routed([{ id, lanes: [], seen: [{ pipeline: 'alerts', hash, eventId: id, expiresAt: Date.now() + 50 }] }]);
    await s.close();
    await new Promise((r) => setTimeout(r, 60));
    const again = await open();
    assert.equal(again.seen.firstEvent('alerts', hash, Date.now()), undefined);
    assert.equal(again.seen.stats('alerts').keys, 0);
    await again.close();
    // Only the fresh (empty) file of the last open remains.
    assert.deepEqual((await readdir(dedupeDir(dir))).length, 1);
  });

  it('with the pipelines known at open, only their keys are restored, at their maxKeys', async () => {
    const s = await open();
    const { id, durable } = stored(s);
    await durable;
    const expiresAt = Date.now() + 60_000;
    s.routed([
      {
        id,
        lanes: ['alerts/slack'],
        seen: [
          { pipeline: 'alerts', hash, eventId: id, expiresAt },
          { pipeline: 'alerts', hash: { hi: 1, lo: 2 }, eventId: id, expiresAt },
          { pipeline: 'gone', hash, eventId: id, expiresAt },
        ],
      },
    ]);
    await s.close();
    const again = await open(new Map([['alerts', 1]]));
    assert.equal(again.seen.stats('alerts').keys, 1);
    assert.equal(again.seen.firstEvent('alerts', { hi: 1, lo: 2 }, Date.now()), id, 'the newest is kept');
    assert.equal(again.seen.firstEvent('gone', hash, Date.now()), undefined);
    await again.close();
  });
});
