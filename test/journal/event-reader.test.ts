import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventReader } from '../../src/journal/event-reader.ts';
import type { EventLocation } from '../../src/journal/journal.ts';
import type { EventFields } from '../../src/journal/format.ts';

const fields = (id: number): EventFields => ({
  id,
  receivedAt: id * 10,
  eventName: 'emailSend',
  raw: Buffer.from(JSON.stringify({ n: id })),
  pinnedLane: id === 3 ? 'p/s' : undefined,
});

function setup(opts: { keep?: number; bad?: Set<number>; missing?: Set<number> } = {}) {
  const batches: number[][] = [];
  const errors: number[] = [];
  const reader = new EventReader({
    locate: (id) => (opts.missing?.has(id) ? undefined : { segment: 1, offset: id * 100, size: 100 }),
    readEvents: async (locs: readonly EventLocation[]) => {
      batches.push(locs.map((l) => l.offset / 100));
      return locs.map((l) => (opts.bad?.has(l.offset / 100) ? new Error('crc') : fields(l.offset / 100)));
    },
    onError: (id) => errors.push(id),
    ...(opts.keep === undefined ? {} : { keep: opts.keep }),
  });
  return { reader, batches, errors };
}

describe('EventReader', () => {
  it('reads what is asked in one tick as one journal batch, parses the body and keeps the pinned lane', async () => {
    const { reader, batches } = setup();
    const got = await Promise.all([1, 2, 3].map((id) => reader.read(id)));
    assert.deepEqual(batches, [[1, 2, 3]]);
    assert.deepEqual(got[0]!.rec.body, { n: 1 });
    assert.equal(got[0]!.rec.receivedAt, 10);
    assert.equal(got[2]!.pinned, 'p/s');
  });

  it('a second lane asking for the same events gets the same records without another read', async () => {
    const { reader, batches } = setup();
    const a = await Promise.all([1, 2].map((id) => reader.read(id)));
    const b = await Promise.all([1, 2].map((id) => reader.read(id)));
    assert.equal(batches.length, 1);
    assert.equal(a[0]!.rec, b[0]!.rec);
  });

  it('keeps at most `keep` events, oldest out first', async () => {
    const { reader, batches } = setup({ keep: 2 });
    await Promise.all([1, 2, 3].map((id) => reader.read(id)));
    await reader.read(3);
    await reader.read(1);
    assert.deepEqual(batches, [[1, 2, 3], [1]]);
  });

  it('an unreadable or unknown event is reported once, resolves undefined, is not kept, and spares its batch', async () => {
    const { reader, batches, errors } = setup({ bad: new Set([2]), missing: new Set([4]) });
    const got = await Promise.all([1, 2, 4].map((id) => reader.read(id)));
    assert.deepEqual(
      got.map((g) => g?.rec.id),
      [1, undefined, undefined],
    );
    assert.deepEqual(errors, [4, 2]);
    await reader.read(2);
    assert.deepEqual(batches, [[1, 2], [2]]);
  });

  it('a body that is not JSON is reported and given up', async () => {
    const reader = new EventReader({
      locate: () => ({ segment: 1, offset: 0, size: 1 }),
      readEvents: async () => [{ ...fields(1), raw: Buffer.from('{nope') }],
      onError: (id) => errors.push(id),
    });
    const errors: number[] = [];
    assert.equal(await reader.read(1), undefined);
    assert.deepEqual(errors, [1]);
  });
});

describe('EventReader when reads stop', () => {
  it('lets go of what it kept, so a drained backlog holds no events', async () => {
    const batches: number[][] = [];
    const reader = new EventReader({
      locate: (id) => ({ segment: 1, offset: id * 100, size: 100 }),
      readEvents: async (locs) => (
        batches.push(locs.map((l) => l.offset / 100)),
        locs.map((l) => fields(l.offset / 100))
      ),
      onError: () => {},
      idleMs: 5,
    });
    await reader.read(1);
    await reader.read(1);
    assert.deepEqual(batches, [[1]], 'kept while reads go on');
    while (batches.length < 2) {
      await new Promise((r) => setTimeout(r, 10));
      await reader.read(1);
    }
    assert.deepEqual(batches, [[1], [1]], 'read again after an idle spell');
  });
});
