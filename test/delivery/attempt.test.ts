import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendAttempt } from '../../src/delivery/attempt.ts';
import type { DeliveryMeta, SinkInstance } from '../../src/sinks/define.ts';

const meta: DeliveryMeta = {
  eventId: 1,
  eventName: 'emailSend',
  pipeline: 'p',
  sink: 's',
  attempt: 1,
  receivedAt: 0,
  idempotencyKey: 'k1',
};
const sinkOf = (send: SinkInstance['send']): SinkInstance => ({ send, close: async () => {} });

test('returns the outcome, or the thrown error', async () => {
  const live = new AbortController();
  assert.deepEqual(
    await sendAttempt(
      sinkOf(async () => ({ ok: true })),
      1,
      meta,
      { timeoutMs: 1000, shutdown: live.signal },
    ).result,
    { outcome: { ok: true } },
  );
  const thrown = await sendAttempt(
    sinkOf(() => {
      throw new Error('sync boom');
    }),
    1,
    meta,
    { timeoutMs: 1000, shutdown: live.signal },
  ).result;
  assert.match(String((thrown as { thrown: Error }).thrown.message), /sync boom/);
});

test('a sink that ignores its signal is cut off by the timeout; `sent` settles only when it really returns', async () => {
  let finish!: () => void;
  let seen: AbortSignal | undefined;
  const run = sendAttempt(
    sinkOf((_p, _m, signal) => ((seen = signal), new Promise<void>((r) => (finish = r)))),
    1,
    meta,
    { timeoutMs: 20, shutdown: new AbortController().signal },
  );
  const result = await run.result;
  assert.match(String((result as { thrown: Error }).thrown.message), /no answer within 20 ms/);
  assert.equal(seen?.aborted, true);
  let sent = false;
  void run.sent.then(() => (sent = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(sent, false);
  finish();
  await run.sent;
});

test('shutdown aborts the attempt at once', async () => {
  const shutdown = new AbortController();
  const run = sendAttempt(
    sinkOf(() => new Promise(() => {})),
    1,
    meta,
    { timeoutMs: 60_000, shutdown: shutdown.signal },
  );
  shutdown.abort(new Error('stopping'));
  assert.match(String(((await run.result) as { thrown: Error }).thrown.message), /stopping/);
});

test('AttemptRunner: attempts of one window share a timer but not a signal; only the ones still running are cut off', async () => {
  const { AttemptRunner } = await import('../../src/delivery/attempt.ts');
  let t = 0;
  const runner = new AttemptRunner({ timeoutMs: 30, shutdown: new AbortController().signal, now: () => t });
  const signals: AbortSignal[] = [];
  const hang = sinkOf((_p, _m, signal) => (signals.push(signal), new Promise(() => {})));
  const quick = sinkOf(async (_p, _m, signal) => (signals.push(signal), { ok: true }));
  const a = runner.send(hang, 1, meta);
  const b = runner.send(quick, 2, meta);
  const c = runner.send(hang, 3, meta);
  assert.deepEqual(await b.result, { outcome: { ok: true } });
  const [ra, rc] = await Promise.all([a.result, c.result]);
  assert.match(String((ra as { thrown: Error }).thrown.message), /no answer within 30 ms/);
  assert.match(String((rc as { thrown: Error }).thrown.message), /no answer within 30 ms/);
  assert.equal(new Set(signals).size, 3, 'one signal per attempt');
  assert.deepEqual(
    signals.map((s) => s.aborted),
    [true, false, true],
  );
  // A later window gets its own timer: an attempt there still answers normally.
  t = 1000;
  assert.deepEqual(await runner.send(quick, 4, meta).result, { outcome: { ok: true } });
});

test('AttemptRunner: shutdown aborts the running attempts of every window', async () => {
  const { AttemptRunner } = await import('../../src/delivery/attempt.ts');
  let t = 0;
  const shutdown = new AbortController();
  const runner = new AttemptRunner({ timeoutMs: 60_000, shutdown: shutdown.signal, now: () => t });
  const hang = sinkOf(() => new Promise(() => {}));
  const first = runner.send(hang, 1, meta);
  t = 10_000; // next window
  const second = runner.send(hang, 2, meta);
  shutdown.abort(new Error('stopping'));
  for (const run of [first, second])
    assert.match(String(((await run.result) as { thrown: Error }).thrown.message), /stopping/);
});
