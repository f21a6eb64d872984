import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createStdoutSink, stdoutSink } from '../../src/sinks/stdout.ts';
import type { DeliveryMeta } from '../../src/sinks/define.ts';

const meta: DeliveryMeta = {
  eventId: 1,
  eventName: 'emailSend',
  pipeline: 'p',
  sink: 'stdout',
  attempt: 1,
  receivedAt: 0,
  idempotencyKey: 'k1',
};
const never = new AbortController().signal;
const modulePath = fileURLToPath(new URL('../../src/sinks/stdout.ts', import.meta.url));

/** Run a child that sends `count` payloads through the stdout sink and reports on stderr what happened. */
function child(count: number, closeEarly: boolean) {
  const code = `
    const { createStdoutSink } = await import(${JSON.stringify(modulePath)});
    const sink = createStdoutSink();
    const never = new AbortController().signal;
    let ok = 0, last;
    for (let i = 0; i < ${count}; i++) {
      last = await sink.send({ i, pad: 'x'.repeat(200) }, { eventId: i }, never);
      if (!last.ok) break;
      ok++;
    }
    await sink.close();
    process.stderr.write(JSON.stringify({ ok, last }) + '\\n');
  `;
  const proc = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c: Buffer) => {
    err += c;
  });
  proc.stdout.on('data', (c: Buffer) => {
    out += c;
    if (closeEarly) proc.stdout.destroy(); // the reader goes away after the first chunk
  });
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
    proc.on('close', (code) => resolve({ code, out, err })),
  );
}

test('normal output is one JSON line per payload', { timeout: 20_000 }, async () => {
  const { code, out, err } = await child(3, false);
  assert.equal(code, 0, err);
  assert.deepEqual(
    out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).i),
    [0, 1, 2],
  );
  assert.deepEqual(JSON.parse(err.trim().split('\n').pop()!), { ok: 3, last: { ok: true } });
});

test(
  'a stdout pipe closed early does not crash: sends report a permanent failure and the process exits 0',
  { timeout: 20_000 },
  async () => {
    const { code, err } = await child(1_000_000, true);
    assert.equal(code, 0, err);
    const report = JSON.parse(err.trim().split('\n').pop()!);
    assert.ok(report.ok < 1_000_000);
    assert.equal(report.last.ok, false);
    assert.equal(report.last.retryable, false);
    assert.match(report.last.error, /stdout is closed/);
  },
);

test('backpressure: a send completes only once its line is taken and the stream has room', async () => {
  const taken: string[] = [];
  let release: (() => void) | undefined;
  const slow = new Writable({
    highWaterMark: 8,
    write(chunk: Buffer, _enc, cb) {
      taken.push(chunk.toString());
      release = cb; // the reader takes its time
    },
  });
  const sink = createStdoutSink(slow);
  let settled = false;
  const pending = sink.send({ a: 1 }, meta, never).then((o) => {
    settled = true;
    return o;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(settled, false, 'still waiting for the reader');
  release!();
  assert.deepEqual(await pending, { ok: true });
  assert.deepEqual(taken, ['{"a":1}\n']);
});

test('a destroyed stream is a permanent failure, and an abort while full is retryable', async () => {
  const dead = new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
  dead.destroy();
  const out = await createStdoutSink(dead).send({}, meta, never);
  assert.equal(out && !out.ok && out.retryable, false);

  const stuck = new Writable({
    highWaterMark: 1,
    write() {
      /* never calls back */
    },
  });
  const ac = new AbortController();
  const pending = createStdoutSink(stuck).send({ b: 2 }, meta, ac.signal);
  ac.abort();
  const aborted = await pending;
  assert.equal(aborted && !aborted.ok && aborted.retryable, true);
  assert.equal(stdoutSink.type, 'stdout');
});
