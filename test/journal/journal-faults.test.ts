// The journal on a failing disk: EIO and ENOSPC on write and fsync are refused, never acknowledged, and the journal
// writes again by itself once the disk works (no restart), keeping every record it acknowledged.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Metrics } from '../../src/admin/metrics.ts';
import { silentLogger } from '../../src/log.ts';
import { Journal, type JournalOptions, type ScannedRecord } from '../../src/journal/journal.ts';
import { FaultyFs } from '../fixtures/faulty-fs.ts';
import { waitFor } from '../integration/harness.ts';

let dir: string;
let open: Journal[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookroute-journal-faults-'));
  open = [];
});
afterEach(async () => {
  for (const j of open) await j.close();
  await rm(dir, { recursive: true, force: true });
});

async function openJournal(fs: FaultyFs | undefined, extra: Partial<JournalOptions> = {}) {
  const records: ScannedRecord[] = [];
  const metrics = new Metrics({ processMetrics: false });
  const journal = await Journal.open(
    { dir, fsync: 'batch', segmentBytes: 1 << 20, metrics, logger: silentLogger, ...(fs && { fs }), ...extra },
    (r) => records.push(r),
  );
  open.push(journal);
  return { journal, records, metrics };
}

const raw = (n: number) => Buffer.from(JSON.stringify({ eventName: 'emailSend', n }));
const append = (j: Journal, n: number) => j.appendEvent({ receivedAt: n, eventName: 'emailSend', raw: raw(n) });
async function bytesOfSegments(): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir)) if (f.endsWith('.log')) total += (await stat(join(dir, f))).size;
  return total;
}
const failures = async (m: Metrics) => (await m.journalWriteFailures.get()).values[0]?.value ?? 0;

/** Reopen the folder with the real file system and read every event back: what a restart would find. */
async function eventsOnDisk(): Promise<Map<number, string>> {
  const { journal, records } = await openJournal(undefined);
  const out = new Map<number, string>();
  for (const r of records) if (r.type === 'event') out.set(r.id, (await journal.readEvent(r)).raw.toString('utf8'));
  await journal.close();
  open.pop();
  return out;
}

for (const where of ['write', 'fsync'] as const) {
  for (const code of ['EIO', 'ENOSPC'] as const) {
    describe(`${code} on ${where}`, () => {
      it('refuses the batch and everything after it, then writes again by itself once the disk works', async () => {
        const fs = new FaultyFs();
        const { journal, metrics } = await openJournal(fs);
        const before = append(journal, 1);
        await before.durable;

        if (where === 'write') fs.failWrites = code;
        else fs.failSyncs = code;
        const refused = [append(journal, 2), append(journal, 3)];
        for (const r of refused) await assert.rejects(r.durable, { code });
        assert.equal(journal.healthy, false);
        // While the disk fails, appends are refused at once.
        await assert.rejects(append(journal, 4).durable, { code });
        await assert.rejects(journal.sync(), { code });
        // Probes keep trying, and failing, while the fault lasts.
        assert.ok(await waitFor(async () => (await failures(metrics)) >= 3, 10_000), 'failed probes are counted');
        assert.equal(journal.healthy, false);

        fs.failWrites = undefined;
        fs.failSyncs = undefined;
        assert.ok(await waitFor(() => journal.healthy, 10_000), 'the journal recovers without a restart');
        const after = append(journal, 5);
        await after.durable;
        await journal.close();
        open.pop();

        const disk = await eventsOnDisk();
        assert.equal(disk.get(before.id), raw(1).toString());
        assert.equal(disk.get(after.id), raw(5).toString());
        // Refused frames were cut back off the failed segment: no event answered 503 comes back at a restart.
        for (const r of refused) assert.equal(disk.has(r.id), false, `refused event ${r.id} is not on disk`);
        assert.ok(after.location.segment > before.location.segment, 'recovery writes into a fresh segment');
      });
    });
  }
}

describe('failures around segment rolls', () => {
  it('a fault while rolling costs only the refused events; sealed segments stay deletable', async () => {
    const fs = new FaultyFs();
    const { journal } = await openJournal(fs, { segmentBytes: 256 });
    const acked: { id: number; n: number }[] = [];
    for (let n = 0; n < 10; n++) {
      const a = append(journal, n);
      await a.durable;
      acked.push({ id: a.id, n });
    }
    // The next append rolls: opening the new segment fails.
    fs.failWrites = 'EIO';
    await assert.rejects(append(journal, 100).durable);
    await assert.rejects(append(journal, 101).durable);
    fs.failWrites = undefined;
    assert.ok(await waitFor(() => journal.healthy, 10_000));
    for (let n = 10; n < 20; n++) {
      const a = append(journal, n);
      await a.durable;
      acked.push({ id: a.id, n });
    }
    const sealed = journal.sealedSegments();
    assert.ok(sealed.length >= 3, `segments were sealed (${sealed.join(',')})`);
    await journal.deleteSegment(sealed[0]!);
    const bytesAfterDelete = journal.bytes;
    await journal.close();
    open.pop();

    const disk = await eventsOnDisk();
    const firstSegmentIds = new Set(acked.filter((a) => !disk.has(a.id)).map((a) => a.id));
    for (const a of acked)
      if (!firstSegmentIds.has(a.id)) assert.equal(disk.get(a.id), raw(a.n).toString(), `event ${a.id} kept`);
    assert.ok(firstSegmentIds.size > 0 && firstSegmentIds.size < 10, 'only the deleted segment is gone');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.log'));
    assert.ok(files.length >= 2);
    assert.ok(bytesAfterDelete > 0);
  });

  it('bytes (the quota) count only what is on disk after a failure', async () => {
    const fs = new FaultyFs();
    const { journal } = await openJournal(fs);
    await append(journal, 1).durable;
    const good = journal.bytes;
    fs.failSyncs = 'EIO';
    const refused = Array.from({ length: 50 }, (_, i) => append(journal, i + 2));
    for (const r of refused) await assert.rejects(r.durable);
    assert.equal(journal.bytes, good, 'refused frames are not counted');
    fs.failSyncs = undefined;
    assert.ok(await waitFor(() => journal.healthy, 10_000));
    // The failed segment was cut back and sealed, a fresh one holds its header: the count follows the files.
    await journal.sync();
    assert.equal(journal.bytes, await bytesOfSegments());
  });

  it('open fails clearly when the first segment cannot be written, and leaves no prober behind', async () => {
    const fs = new FaultyFs();
    fs.failWrites = 'ENOSPC';
    await assert.rejects(openJournal(fs), { code: 'ENOSPC' });
    fs.failWrites = undefined;
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.log') && f !== '00000001.log'),
      [],
      'no probe created a segment after the failed open',
    );
  });
});

describe('a crash after a failure', () => {
  it('what was acknowledged before and after the failure survives a cut of every unsynced byte', async () => {
    const fs = new FaultyFs();
    const { journal } = await openJournal(fs);
    const acked: { id: number; n: number }[] = [];
    for (let n = 0; n < 5; n++) {
      const a = append(journal, n);
      await a.durable;
      acked.push({ id: a.id, n });
    }
    fs.failSyncs = 'EIO';
    await assert.rejects(append(journal, 50).durable);
    fs.failSyncs = undefined;
    assert.ok(await waitFor(() => journal.healthy, 10_000));
    for (let n = 5; n < 10; n++) {
      const a = append(journal, n);
      await a.durable;
      acked.push({ id: a.id, n });
    }
    void journal.appendDone('p/s', [acked[0]!.id]); // written, never fsynced: the cut may take it
    await new Promise((r) => setImmediate(r));
    fs.crash();
    await fs.cutUnsynced(() => 0);
    open.pop();
    const disk = await eventsOnDisk();
    for (const a of acked) assert.equal(disk.get(a.id), raw(a.n).toString());
    assert.deepEqual(
      [...disk.keys()].sort((a, b) => a - b),
      acked.map((a) => a.id),
    );
  });
});
