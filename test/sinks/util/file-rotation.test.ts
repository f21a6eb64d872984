import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  periodStart,
  pruneRotated,
  rotateAway,
  rotatedFiles,
  rotatedName,
} from '../../../src/sinks/util/file-rotation.ts';

test('periods are UTC hours and days', () => {
  const t = Date.parse('2026-03-29T01:59:59.999Z');
  assert.equal(periodStart(t, 'hourly'), Date.parse('2026-03-29T01:00:00Z'));
  assert.equal(periodStart(t, 'daily'), Date.parse('2026-03-29T00:00:00Z'));
  assert.equal(periodStart(t, 'never'), 0);
});

test('rotated names sit next to the file; no extension works too', () => {
  const t = Date.parse('2026-11-27T17:05:09Z');
  assert.equal(rotatedName('/d/out.jsonl', t), '/d/out-20261127T170509.jsonl');
  assert.equal(rotatedName('/d/out.jsonl', t, 3), '/d/out-20261127T170509-3.jsonl');
  assert.equal(rotatedName('/d/log', t), '/d/log-20261127T170509');
});

test('rotateAway never overwrites; listing is oldest first with numeric counters; prune keeps the newest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-rotation-'));
  try {
    const live = join(dir, 'out.jsonl');
    const t = Date.parse('2026-11-27T17:00:00Z');
    for (let i = 0; i < 12; i++) {
      await writeFile(live, `${i}\n`);
      await rotateAway(live, t);
    }
    await writeFile(join(dir, 'out-20261126T000000.jsonl'), 'older\n');
    await writeFile(join(dir, 'other-20261126T000000.jsonl'), 'not ours\n');
    const files = (await rotatedFiles(live)).map((f) => f.slice(dir.length + 1));
    assert.equal(files.length, 13);
    assert.deepEqual(files.slice(0, 3), [
      'out-20261126T000000.jsonl',
      'out-20261127T170000.jsonl',
      'out-20261127T170000-1.jsonl',
    ]);
    assert.deepEqual(files.slice(-2), ['out-20261127T170000-10.jsonl', 'out-20261127T170000-11.jsonl']);
    await pruneRotated(live, 2);
    assert.deepEqual((await readdir(dir)).sort(), [
      'other-20261126T000000.jsonl',
      'out-20261127T170000-10.jsonl',
      'out-20261127T170000-11.jsonl',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
