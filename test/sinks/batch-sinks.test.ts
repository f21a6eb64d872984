import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { BatchItem, BatchMeta, DeliveryMeta } from '../../src/sinks/define.ts';
import { BUILT_IN_SINKS } from '../../src/sinks/registry.ts';
import { createFileSink } from '../../src/sinks/file.ts';
import { batchBody } from '../../src/sinks/http.ts';
import { createSlackSink, slackBatchTexts } from '../../src/sinks/slack.ts';
import { createStdoutSink } from '../../src/sinks/stdout.ts';
import { jsonReceiver } from '../fixtures/json-receiver.ts';

const never = new AbortController().signal;
const batchMeta: BatchMeta = { pipeline: 'p', sink: 's', attempt: 1, idempotencyKey: 'kb' };
const items = (payloads: unknown[]): BatchItem[] =>
  payloads.map((payload, i) => {
    const meta: DeliveryMeta = {
      eventId: i + 1,
      eventName: 'emailBounce',
      pipeline: 'p',
      sink: 's',
      attempt: 1,
      receivedAt: 0,
      idempotencyKey: `k${i + 1}`,
    };
    return { payload, meta };
  });

test('every built-in sink can batch', () => {
  for (const def of BUILT_IN_SINKS) assert.equal(def.batches, true, def.type);
});

test('http batch bodies: a JSON array, or one payload a line', () => {
  const batch = items([{ a: 1 }, 'x', null]);
  assert.equal(batchBody(batch, 'json'), '[{"a":1},"x",null]');
  assert.equal(batchBody(batch, 'ndjson'), '{"a":1}\n"x"\nnull\n');
});

test('stdout: a batch is one write, one line per payload', async () => {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  });
  const sink = createStdoutSink(stream);
  assert.deepEqual(await sink.sendBatch!(items([{ a: 1 }, { a: 2 }, 'three']), batchMeta, never), { ok: true });
  assert.deepEqual(writes, ['{"a":1}\n{"a":2}\n"three"\n']);
});

test('file: a batch is one write, so size rotation never cuts a batch across files', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-batch-file-'));
  try {
    // Each batch is ~5 lines of ~30 bytes, far over maxBytes: one write per batch means each file holds whole batches.
    const sink = createFileSink(
      { path: 'out.jsonl', maxBytes: 100, rotate: 'never', keep: 10, fsync: false },
      { baseDir: dir },
    );
    const batch = (n: number) => items(Array.from({ length: 5 }, (_, i) => ({ batch: n, line: i, pad: 'xxxxxxxx' })));
    for (let n = 1; n <= 3; n++) assert.deepEqual(await sink.sendBatch!(batch(n), batchMeta, never), { ok: true });
    await sink.close();
    const files = (await readdir(dir)).sort();
    assert.equal(files.length, 3);
    const contents = await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')));
    const batchesPerFile = contents.map((text) => {
      const lines = text
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { batch: number });
      assert.equal(lines.length, 5);
      return new Set(lines.map((l) => l.batch)).size;
    });
    assert.deepEqual(batchesPerFile, [1, 1, 1]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('slack: one message per batch, one line per payload (an object with `text` gives its text)', async () => {
  const mock = await jsonReceiver(undefined, '/services/T000/B000/XXXX');
  const sink = createSlackSink({ webhookUrl: mock.url, timeout: '5s' });
  try {
    const outcome = await sink.sendBatch!(
      items(['bounce u1@x.com', { text: 'bounce u2@x.com' }, { user: 'u3' }]),
      batchMeta,
      never,
    );
    assert.deepEqual(outcome, { ok: true });
    assert.deepEqual(mock.bodies, [{ text: 'bounce u1@x.com\nbounce u2@x.com\n{"user":"u3"}' }]);
  } finally {
    await sink.close();
    await mock.close();
  }
});

test("slack: a batch longer than Slack's text limit is cut between lines into as few messages as fit", () => {
  const batch = items(['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(40), 'd'.repeat(200)]);
  assert.deepEqual(
    slackBatchTexts(batch, 100).map((t) => t.split('\n').map((l) => l[0])),
    [['a', 'b'], ['c'], ['d']],
  );
  assert.equal(slackBatchTexts(batch).length, 1);
});
