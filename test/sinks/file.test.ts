import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSink, fileSink, type FileSinkOptions } from '../../src/sinks/file.ts';
import { rotatedName } from '../../src/sinks/util/file-rotation.ts';
import type { DeliveryMeta } from '../../src/sinks/define.ts';

const meta: DeliveryMeta = {
  eventId: 1,
  eventName: 'emailSend',
  pipeline: 'p',
  sink: 'file',
  attempt: 1,
  receivedAt: 0,
  idempotencyKey: 'k1',
};
const never = new AbortController().signal;
const T0 = Date.parse('2026-11-27T17:10:00Z');

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-file-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const opts = (o: Partial<FileSinkOptions>): FileSinkOptions => ({
  path: 'out.jsonl',
  rotate: 'never',
  keep: 7,
  fsync: false,
  ...o,
});
const lines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

test('appends one JSON line per payload, creating parent folders 0700 and the file 0600', async () =>
  withDir(async (dir) => {
    const sink = createFileSink(opts({ path: 'nested/deeper/out.jsonl', fsync: true }), { baseDir: dir });
    assert.deepEqual(await sink.send({ eventName: 'emailSend', email: 'u@x.com' }, meta, never), { ok: true });
    assert.deepEqual(await sink.send('plain string', meta, never), { ok: true });
    await sink.close();
    const file = join(dir, 'nested/deeper/out.jsonl');
    assert.deepEqual(await lines(file), [{ eventName: 'emailSend', email: 'u@x.com' }, 'plain string']);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700);
  }));

test('concurrent sends all land, each on its own line, and a reopened sink appends', async () =>
  withDir(async (dir) => {
    const sink = createFileSink(opts({}), { baseDir: dir });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) => sink.send({ i, pad: 'x'.repeat(i) }, meta, never)),
    );
    assert.ok(outcomes.every((o) => o && o.ok));
    await sink.close();
    const again = createFileSink(opts({}), { baseDir: dir });
    await again.send({ i: 200 }, meta, never);
    await again.close();
    const got = await lines(join(dir, 'out.jsonl'));
    assert.deepEqual(
      got.map((l) => l.i),
      Array.from({ length: 201 }, (_, i) => i),
    );
  }));

test('rotates by size: no file grows past maxBytes, nothing is lost', async () =>
  withDir(async (dir) => {
    let now = T0;
    const sink = createFileSink(opts({ maxBytes: 100, keep: 100 }), { baseDir: dir }, () => now);
    for (let i = 0; i < 20; i++) {
      now += 1000;
      assert.deepEqual(await sink.send({ i, text: 'abcdefghijklmnop' }, meta, never), { ok: true }); // 32-33 bytes a line
    }
    await sink.close();
    const names = (await readdir(dir)).sort();
    assert.ok(names.length >= 6, names.join(','));
    let all: number[] = [];
    for (const name of names.filter((n) => n !== 'out.jsonl')) {
      assert.match(name, /^out-20261127T\d{6}\.jsonl$/);
      assert.ok((await stat(join(dir, name))).size <= 100);
      all = all.concat((await lines(join(dir, name))).map((l) => l.i));
    }
    all = all.concat((await lines(join(dir, 'out.jsonl'))).map((l) => l.i));
    assert.deepEqual(
      all,
      Array.from({ length: 20 }, (_, i) => i),
    );
  }));

test('rotates by time with an injected clock, naming the old file after its period', async () =>
  withDir(async (dir) => {
    let now = T0;
    const sink = createFileSink(opts({ rotate: 'hourly' }), { baseDir: dir }, () => now);
    await sink.send({ n: 1 }, meta, never);
    now += 10 * 60_000; // 17:20, same hour
    await sink.send({ n: 2 }, meta, never);
    now = Date.parse('2026-11-27T18:00:01Z');
    await sink.send({ n: 3 }, meta, never);
    await sink.close();
    const rotated = rotatedName(join(dir, 'out.jsonl'), Date.parse('2026-11-27T17:00:00Z'));
    assert.equal(rotated, join(dir, 'out-20261127T170000.jsonl'));
    assert.deepEqual(await lines(rotated), [{ n: 1 }, { n: 2 }]);
    assert.deepEqual(await lines(join(dir, 'out.jsonl')), [{ n: 3 }]);
    assert.equal((await stat(rotated)).mode & 0o777, 0o600);
  }));

test('daily rotation and keep: only the newest rotated files stay', async () =>
  withDir(async (dir) => {
    let now = T0;
    const sink = createFileSink(opts({ rotate: 'daily', keep: 2 }), { baseDir: dir }, () => now);
    for (let day = 0; day < 5; day++) {
      now = T0 + day * 86_400_000;
      await sink.send({ day }, meta, never);
    }
    await sink.close();
    assert.deepEqual((await readdir(dir)).sort(), [
      'out-20261129T000000.jsonl',
      'out-20261130T000000.jsonl',
      'out.jsonl',
    ]);
    assert.deepEqual(await lines(join(dir, 'out-20261130T000000.jsonl')), [{ day: 3 }]);
    assert.deepEqual(await lines(join(dir, 'out.jsonl')), [{ day: 4 }]);
  }));

test('size rotations within one second get distinct names', async () =>
  withDir(async (dir) => {
    const sink = createFileSink(opts({ maxBytes: 10, keep: 10 }), { baseDir: dir }, () => T0);
    for (let i = 0; i < 4; i++) await sink.send({ i }, meta, never);
    await sink.close();
    assert.deepEqual((await readdir(dir)).sort(), [
      'out-20261127T171000-1.jsonl',
      'out-20261127T171000-2.jsonl',
      'out-20261127T171000.jsonl',
      'out.jsonl',
    ]);
  }));

test('a write error is a retryable failure, and the sink recovers once the path is usable', async () =>
  withDir(async (dir) => {
    await mkdir(join(dir, 'out.jsonl'));
    const sink = createFileSink(opts({}), { baseDir: dir });
    const out = await sink.send({ a: 1 }, meta, never);
    assert.equal(out && !out.ok && out.retryable, true);
    assert.match(out && !out.ok ? out.error : '', /EISDIR/);
    await rm(join(dir, 'out.jsonl'), { recursive: true });
    assert.deepEqual(await sink.send({ a: 2 }, meta, never), { ok: true });
    await sink.close();
    assert.deepEqual(await lines(join(dir, 'out.jsonl')), [{ a: 2 }]);
  }));

test('the definition is type file with documented defaults', () => {
  assert.equal(fileSink.type, 'file');
  const props = (fileSink.options as unknown as { properties: Record<string, { default?: unknown }> }).properties;
  assert.equal(props.rotate!.default, 'never');
  assert.equal(props.fsync!.default, false);
  assert.deepEqual(fileSink.defaults, { concurrency: 64 }, 'concurrent sends are what one write batches');
});

test('sends of one event-loop turn share one write, the first one included', async () =>
  withDir(async (dir) => {
    const sink = createFileSink(opts({}), { baseDir: dir });
    const probe = await open(join(dir, 'probe'), 'w');
    const FileHandle = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown> };
    await probe.close();
    const original = FileHandle.write;
    let writes = 0;
    FileHandle.write = function (this: unknown, ...a: unknown[]) {
      writes++;
      return original.apply(this, a);
    };
    try {
      await sink.send({ first: true }, meta, never); // opens the file
      writes = 0;
      await Promise.all(Array.from({ length: 64 }, (_, i) => sink.send({ i }, meta, never)));
      assert.equal(writes, 1, `64 concurrent lines took ${writes} writes`);
    } finally {
      FileHandle.write = original;
      await sink.close();
    }
    assert.equal((await lines(join(dir, 'out.jsonl'))).length, 65);
  }));
