// Exhaustive torn writes: the last batch before a crash cut at every byte offset, and every bit of one of its frames
// flipped, header and body. Recovery must keep exactly the intact records: all of the earlier batches, and every frame
// of the last batch that is whole and unflipped.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Metrics } from '../../src/admin/metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { FRAME_HEADER } from '../../src/journal/format.ts';
import { Journal, type ScannedRecord } from '../../src/journal/journal.ts';

let root: string;
/** The segment file as the crash found it, where the last batch starts, and the frames in it. */
let bytes: Buffer;
let lastBatchAt: number;
let frames: { at: number; size: number; label: string }[];
let everything: string[];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hookroute-torn-'));
  const dir = join(root, 'source');
  const j = await Journal.open(options(dir), () => {});
  // Earlier batches: acknowledged events, their routing, some finished.
  const early = [1, 2, 3].map((n) => j.appendEvent({ receivedAt: n, eventName: 'emailSend', raw: body(n) }));
  await Promise.all(early.map((e) => e.durable));
  await j.appendRouted(early.map((e) => ({ id: e.id, lanes: ['p/a', 'q/b'] })));
  await j.appendDone('p/a', [early[0]!.id]);
  await j.sync();
  const segment = join(
    dir,
    (await readdir(dir)).find((f) => f.endsWith('.log'))!,
  );
  lastBatchAt = (await readFile(segment)).length;
  // The last batch: four frames queued in one turn, written with one writev and one fsync.
  const a = j.appendEvent({ receivedAt: 4, eventName: 'emailSend', raw: body(4) });
  const b = j.appendEvent({ receivedAt: 5, eventName: 'emailOpen', raw: body(5), pinnedLane: 'q/b' });
  const routed = j.appendRouted([{ id: a.id, lanes: ['p/a'] }]);
  const done = j.appendDone('q/b', [early[1]!.id, early[2]!.id]);
  await Promise.all([a.durable, b.durable, routed, done]);
  await j.close();
  bytes = await readFile(segment);
  frames = [];
  for (let at = lastBatchAt; at < bytes.length;) {
    const size = FRAME_HEADER + bytes.readUInt32LE(at);
    frames.push({ at, size, label: ['event a', 'event b', 'routed', 'done'][frames.length]! });
    at += size;
  }
  assert.equal(frames.length, 4, 'the last batch holds four frames, written together');
  everything = await recover(bytes);
});

after(() => rm(root, { recursive: true, force: true }));

function options(dir: string) {
  return {
    dir,
    fsync: 'off' as const, // recovery reads what is there; fsync would only slow a thousand reopens down
    segmentBytes: 1 << 20,
    metrics: new Metrics({ processMetrics: false }),
    logger: silentLogger,
  };
}

function body(n: number): Buffer {
  return Buffer.from(
    JSON.stringify({ eventName: 'emailSend', email: `user${n}@example.com`, n, pad: 'x'.repeat(n * 7) }),
  );
}

/** Recover a journal folder holding `file` as its only segment; every record it keeps, as comparable text. */
async function recover(file: Buffer): Promise<string[]> {
  const dir = join(root, 'recover');
  await mkdir(dir, { recursive: true });
  for (const f of await readdir(dir)) await unlink(join(dir, f));
  await writeFile(join(dir, '00000001.log'), file);
  const records: ScannedRecord[] = [];
  const j = await Journal.open(options(dir), (r) => records.push(r));
  const out: string[] = [];
  for (const r of records) {
    if (r.type === 'event') {
      const e = await j.readEvent(r);
      out.push(`event ${e.id} ${e.eventName} ${e.pinnedLane ?? '-'} ${e.raw.toString('base64')}`);
    } else if (r.type === 'routed') out.push(`routed ${JSON.stringify(r.entries)}`);
    else out.push(`done ${r.lane} ${r.ids.join(',')}`);
  }
  await j.close();
  return out;
}

/** The records recovery must keep when only `kept` frames of the last batch are intact. */
function expected(kept: (f: { at: number; size: number }) => boolean): string[] {
  const earlier = everything.length - frames.length;
  return everything.filter((_, i) => i < earlier || kept(frames[i - earlier]!));
}

describe('torn and flipped last batch', () => {
  it('recovers all 4 frames of the untouched file', () => {
    assert.equal(everything.length, 3 + 1 + 1 + frames.length);
  });

  it('cut at every byte offset of the last batch: every whole frame before the cut is kept, nothing else', async () => {
    let cuts = 0;
    for (let cut = lastBatchAt; cut <= bytes.length; cut++) {
      const got = await recover(bytes.subarray(0, cut));
      assert.deepEqual(
        got,
        expected((f) => f.at + f.size <= cut),
        `cut at byte ${cut}`,
      );
      cuts++;
    }
    assert.equal(cuts, bytes.length - lastBatchAt + 1);
  });

  it("every bit of one frame's header and body flipped: only that frame is lost, the frames after it are kept", async () => {
    const target = frames[1]!; // event b: one frame before it and two after it in the same batch
    let flips = 0;
    for (let byte = target.at; byte < target.at + target.size; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(bytes);
        damaged[byte]! ^= 1 << bit;
        const got = await recover(damaged);
        assert.deepEqual(
          got,
          expected((f) => f !== target),
          `bit ${bit} of byte ${byte - target.at} of ${target.label}`,
        );
        flips++;
      }
    }
    assert.equal(flips, target.size * 8);
  });
});
