import assert from 'node:assert/strict';
import { mkdtemp, open, readdir, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Metrics } from '../../src/admin/metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { Journal, type JournalOptions, type ScannedRecord } from '../../src/journal/journal.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookroute-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function options(extra: Partial<JournalOptions> = {}): JournalOptions {
  return {
    dir,
    fsync: 'batch',
    segmentBytes: 1 << 20,
    metrics: new Metrics({ processMetrics: false }),
    logger: silentLogger,
    ...extra,
  };
}

async function openCollect(
  extra: Partial<JournalOptions> = {},
): Promise<{ journal: Journal; records: ScannedRecord[] }> {
  const records: ScannedRecord[] = [];
  const journal = await Journal.open(options(extra), (r) => records.push(r));
  return { journal, records };
}

const body = (n: number) => Buffer.from(JSON.stringify({ eventName: 'emailSend', email: `user${n}@example.com`, n }));
const segmentFiles = async () => (await readdir(dir)).filter((f) => f.endsWith('.log')).sort();
const fsyncs = async (m: Metrics) => (await m.journalFsyncs.get()).values[0]?.value ?? 0;
const corruptions = async (m: Metrics) => (await m.journalCorruptions.get()).values[0]?.value ?? 0;

describe('Journal', () => {
  it('readEvents reads neighbours together and reports a bad location on its own', async () => {
    const { journal } = await openCollect();
    const appended = [1, 2, 3].map((n) => journal.appendEvent({ receivedAt: n, eventName: 'emailSend', raw: body(n) }));
    await Promise.all(appended.map((a) => a.durable));
    await journal.appendRouted([{ id: appended[0]!.id, lanes: ['p/s'] }]); // a frame between events is read over
    const later = journal.appendEvent({ receivedAt: 4, eventName: 'emailSend', raw: body(4) });
    await later.durable;
    const wrong = { ...appended[1]!.location, offset: appended[1]!.location.offset + 1 };
    const got = await journal.readEvents([appended[0]!.location, appended[2]!.location, later.location, wrong]);
    assert.deepEqual(
      got.slice(0, 3).map((g) => (g instanceof Error ? g : g.raw.toString())),
      [body(1).toString(), body(3).toString(), body(4).toString()],
    );
    assert.ok(got[3] instanceof Error);
    await journal.close();
  });

  it('round-trips events, routing and done records through a reopen, raw bytes untouched', async () => {
    const { journal } = await openCollect();
    const raw = Buffer.from('{ "eventName":"emailOpen",  "email":"a@b.c" }'); // odd spacing: must come back byte for byte
    const a = journal.appendEvent({ receivedAt: 1000, eventName: 'emailOpen', raw });
    const b = journal.appendEvent({ receivedAt: 2000, eventName: 'emailSend', raw: body(2), pinnedLane: 'p/s' });
    await Promise.all([a.durable, b.durable]);
    await journal.appendRouted([{ id: a.id, lanes: ['p/http', 'q/file'] }]);
    await journal.appendDone('p/http', [a.id]);
    assert.deepEqual(await journal.readEvent(a.location), {
      id: a.id,
      receivedAt: 1000,
      eventName: 'emailOpen',
      raw,
      pinnedLane: undefined,
    });
    await journal.close();

    const { journal: again, records } = await openCollect();
    assert.deepEqual(
      records.map((r) => r.type),
      ['event', 'event', 'routed', 'done'],
    );
    const [ev1, ev2, routed, done] = records;
    assert.equal(ev1?.type === 'event' && ev1.id, a.id);
    assert.equal(ev2?.type === 'event' && ev2.pinnedLane, 'p/s');
    assert.deepEqual(routed, { type: 'routed', entries: [{ id: a.id, lanes: ['p/http', 'q/file'] }] });
    assert.deepEqual(done, { type: 'done', lane: 'p/http', ids: [a.id] });
    const back = await again.readEvent(b.location);
    assert.deepEqual(back.raw, body(2));
    await again.close();
  });

  it("recovers records that span the scan's read chunks, large ones included", async () => {
    const { journal } = await openCollect({ segmentBytes: 64 << 20 });
    const big = Buffer.alloc(5 * 1024 * 1024 + 3, 0x61);
    const small = Array.from({ length: 3000 }, (_, i) => body(i)); // about 150 KB: frames cross chunk edges
    const appended = [
      ...small.slice(0, 1500).map((raw) => journal.appendEvent({ receivedAt: 1, eventName: 'e', raw })),
      journal.appendEvent({ receivedAt: 2, eventName: 'big', raw: big }),
      ...small.slice(1500).map((raw) => journal.appendEvent({ receivedAt: 3, eventName: 'e', raw })),
    ];
    await Promise.all(appended.map((a) => a.durable));
    await journal.close();
    const { journal: again, records } = await openCollect({ segmentBytes: 64 << 20 });
    const events = records.filter((r) => r.type === 'event');
    assert.deepEqual(
      events.map((r) => (r.type === 'event' ? r.offset : -1)),
      appended.map((a) => a.location.offset),
    );
    assert.equal((await again.readEvent(appended[1500]!.location)).raw.length, big.length);
    await again.close();
  });

  it('group-commits many concurrent appends into far fewer fsyncs', async () => {
    const { journal } = await openCollect();
    const metrics = (journal as unknown as { opts: JournalOptions }).opts.metrics;
    const before = await fsyncs(metrics);
    const n = 500;
    await Promise.all(
      Array.from(
        { length: n },
        (_, i) => journal.appendEvent({ receivedAt: i, eventName: 'emailSend', raw: body(i) }).durable,
      ),
    );
    const used = (await fsyncs(metrics)) - before;
    assert.ok(used >= 1 && used < n / 10, `expected far fewer fsyncs than ${n} appends, got ${used}`);
    await journal.close();
  });

  it('fsyncs every event with fsync: always, and none with fsync: off', async () => {
    for (const [mode, check] of [
      ['always', (used: number) => used >= 20],
      ['off', (used: number) => used === 0],
    ] as const) {
      const metrics = new Metrics({ processMetrics: false });
      const { journal } = await openCollect({ fsync: mode, metrics });
      const before = await fsyncs(metrics);
      await Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => journal.appendEvent({ receivedAt: i, eventName: 'e', raw: body(i) }).durable,
        ),
      );
      const used = (await fsyncs(metrics)) - before;
      assert.ok(check(used), `${mode}: ${used} fsyncs`);
      await journal.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('cuts a torn tail of the newest segment and keeps every intact record', async () => {
    const { journal } = await openCollect();
    const appended = Array.from({ length: 10 }, (_, i) =>
      journal.appendEvent({ receivedAt: i, eventName: 'e', raw: body(i) }),
    );
    await Promise.all(appended.map((a) => a.durable));
    await journal.close();
    const last = appended.at(-1)!.location;
    const file = join(dir, `${String(last.segment).padStart(8, '0')}.log`);
    assert.equal(
      (await segmentFiles()).at(-1),
      `${String(last.segment).padStart(8, '0')}.log`,
      'it is the newest segment',
    );
    // A crash in the middle of writing the last frame.
    await truncate(file, last.offset + 5);
    const metrics = new Metrics({ processMetrics: false });
    const { journal: again, records } = await openCollect({ metrics });
    assert.deepEqual(
      records.filter((r) => r.type === 'event').map((r) => (r.type === 'event' ? r.id : 0)),
      appended.slice(0, 9).map((a) => a.id),
    );
    assert.equal(await corruptions(metrics), 1);
    assert.equal((await stat(file)).size, last.offset, 'the torn bytes are cut off the file');
    await again.close();
  });

  it('detects flipped bytes in the newest segment by checksum, loses only that record and keeps the intact ones after it', async () => {
    const { journal } = await openCollect();
    const appended = Array.from({ length: 5 }, (_, i) =>
      journal.appendEvent({ receivedAt: i, eventName: 'e', raw: body(i) }),
    );
    await Promise.all(appended.map((a) => a.durable));
    await journal.close();
    const third = appended[3]!.location;
    const fh = await open(join(dir, `${String(third.segment).padStart(8, '0')}.log`), 'r+');
    await fh.write(Buffer.from([0xff, 0x00, 0xaa]), 0, 3, third.offset + 20);
    await fh.close();
    const metrics = new Metrics({ processMetrics: false });
    const { journal: again, records } = await openCollect({ metrics });
    assert.deepEqual(
      records.filter((r) => r.type === 'event').map((r) => (r.type === 'event' ? r.id : 0)),
      [...appended.slice(0, 3), appended[4]!].map((a) => a.id),
    );
    assert.equal(await corruptions(metrics), 1);
    // It still takes appends, with ids after the highest intact one.
    const next = again.appendEvent({ receivedAt: 9, eventName: 'e', raw: body(9) });
    await next.durable;
    assert.ok(next.id > appended[2]!.id);
    assert.equal((await again.readEvent(next.location)).raw.toString(), body(9).toString());
    await again.close();
  });

  it('in an older segment, loses only the corrupt record: the ones before and after it and newer segments are kept', async () => {
    const { journal } = await openCollect({ segmentBytes: 600 });
    const appended = Array.from({ length: 12 }, (_, i) =>
      journal.appendEvent({ receivedAt: i, eventName: 'e', raw: body(i) }),
    );
    await Promise.all(appended.map((a) => a.durable));
    await journal.close();
    const firstSeg = appended[0]!.location.segment;
    const inFirst = appended.filter((a) => a.location.segment === firstSeg);
    assert.ok(inFirst.length >= 2 && inFirst.length < 12, 'the events span several segments');
    const victim = inFirst[1]!.location;
    const fh = await open(join(dir, `${String(firstSeg).padStart(8, '0')}.log`), 'r+');
    await fh.write(Buffer.from([1, 2, 3, 4]), 0, 4, victim.offset + 12);
    await fh.close();
    const { journal: again, records } = await openCollect({ segmentBytes: 600 });
    const ids = records.filter((r) => r.type === 'event').map((r) => (r.type === 'event' ? r.id : 0));
    const lost = [inFirst[1]!.id];
    assert.deepEqual(
      ids,
      appended.map((a) => a.id).filter((id) => !lost.includes(id)),
    );
    await again.close();
  });

  it('rolls segments at segmentBytes and deletes sealed ones; ids continue after a restart', async () => {
    const { journal } = await openCollect({ segmentBytes: 500 });
    const appended = Array.from({ length: 25 }, (_, i) =>
      journal.appendEvent({ receivedAt: i, eventName: 'e', raw: body(i) }),
    );
    await Promise.all(appended.map((a) => a.durable));
    const segs = new Set(appended.map((a) => a.location.segment));
    assert.ok(segs.size >= 3, `expected several segments, got ${segs.size}`);
    for (const a of appended)
      assert.ok(
        a.location.offset + a.location.size <= 500 || a.location.offset <= 30,
        'a frame never crosses segmentBytes unless alone',
      );
    const sealed = journal.sealedSegments();
    assert.deepEqual(
      sealed,
      [...segs].filter((s) => s !== journal.activeSegment).sort((x, y) => x - y),
    );
    const bytesBefore = journal.bytes;
    await journal.deleteSegment(sealed[0]!);
    assert.ok(journal.bytes < bytesBefore);
    await assert.rejects(journal.deleteSegment(journal.activeSegment), /not sealed/);
    await journal.close();
    assert.ok(!(await segmentFiles()).includes(`${String(sealed[0]).padStart(8, '0')}.log`));

    // Delete every data segment: the segment header still carries the id counter forward.
    const { journal: j2 } = await openCollect({ segmentBytes: 500 });
    for (const s of j2.sealedSegments()) await j2.deleteSegment(s);
    await j2.close();
    const { journal: j3, records } = await openCollect({ segmentBytes: 500 });
    assert.equal(records.filter((r) => r.type === 'event').length, 0);
    const next = j3.appendEvent({ receivedAt: 0, eventName: 'e', raw: body(0) });
    await next.durable;
    assert.ok(next.id > appended.at(-1)!.id, `id ${next.id} continues after ${appended.at(-1)!.id}`);
    await j3.close();
  });
});

describe('journal recovery across a corrupt length word', () => {
  it('a garbled frame header in the middle of the newest segment costs that record only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hookroute-journal-hdr-'));
    try {
      const metrics = new Metrics({ processMetrics: false });
      const opts = { dir, fsync: 'batch' as const, segmentBytes: 64 << 20, metrics, logger: silentLogger };
      const journal = await Journal.open(opts, () => {});
      const appended = Array.from({ length: 20 }, (_, i) =>
        journal.appendEvent({ receivedAt: i, eventName: 'e', raw: Buffer.from(`{"eventName":"e","n":${i}}`) }),
      );
      await Promise.all(appended.map((a) => a.durable));
      await journal.close();
      const victim = appended[5]!.location;
      const fh = await open(join(dir, `${String(victim.segment).padStart(8, '0')}.log`), 'r+');
      await fh.write(Buffer.from([0xff, 0xff, 0xff, 0x7f]), 0, 4, victim.offset); // its length now claims ~2 GB
      await fh.close();
      const ids: number[] = [];
      const again = await Journal.open(opts, (r) => r.type === 'event' && ids.push(r.id));
      assert.deepEqual(
        ids,
        appended.filter((_, i) => i !== 5).map((a) => a.id),
      );
      assert.equal(await corruptions(metrics), 1);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
