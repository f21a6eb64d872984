// Issue 16 end to end: the daemon as a child process delivers each Iterable event once per window, across restarts and kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { post, sandbox, startDaemonProcess, waitFor, type DaemonProcess } from './harness.ts';

const bounce = (messageId = 'd0aa7801f91f4824997a631f3ed583c3') => ({
  email: 'u@x.com',
  eventName: 'emailBounce',
  dataFields: {
    email: 'u@x.com',
    campaignId: 59667,
    messageId,
    createdAt: '2016-12-02 20:21:04 +00:00',
    recipientState: 'HardBounce',
  },
});

const pipeline = (url: string, dedupe: unknown = true) => ({
  name: 'bounces',
  match: { events: ['emailBounce'] },
  dedupe,
  transform: '{ "messageId": dataFields.messageId }',
  sinks: [{ type: 'http', url, timeout: '2s', retry: { attempts: 100, initialDelay: '20ms', maxDelay: '200ms' } }],
});

/** hookroute_events_deduplicated_total of the bounces pipeline, as the running daemon reports it. */
async function deduplicated(d: DaemonProcess): Promise<number> {
  const res = await request(`http://127.0.0.1:${d.adminPort}/metrics`);
  const text = await res.body.text();
  return Number(/hookroute_events_deduplicated_total\{pipeline="bounces"\} (\d+)/.exec(text)?.[1] ?? 0);
}

test('the same emailBounce posted 3 times is delivered once; /pipelines counts the duplicates', async (t) => {
  const { dir, target } = await sandbox(t);
  const d = await startDaemonProcess({ dir, pipelines: { bounces: pipeline(target.url) } });
  t.after(() => d.kill('SIGKILL'));
  for (let i = 0; i < 3; i++) assert.equal(await post(d.url, bounce()), 200);
  assert.ok(await waitFor(async () => (await deduplicated(d)) === 2, 10_000), 'two duplicates counted');
  assert.ok(await waitFor(() => target.received.length === 1, 10_000), 'first copy delivered');
  const view = (await (await request(`http://127.0.0.1:${d.adminPort}/pipelines`)).body.json()) as {
    pipelines: { name: string; dedupe: { deduplicated: number; keys: number; windowMs: number } }[];
  };
  const p = view.pipelines.find((x) => x.name === 'bounces')!;
  assert.deepEqual([p.dedupe.deduplicated, p.dedupe.keys, p.dedupe.windowMs], [2, 1, 86_400_000]);
  assert.equal(target.received.length, 1);
});

test('restart and kill -9 between copies: still delivered once', async (t) => {
  const { dir, target } = await sandbox(t);
  const pipelines = { bounces: pipeline(target.url) };
  // Copy 1 of event A is delivered; copy 1 of event B is acknowledged and the daemon is killed at once (B may not be
  // routed yet: recovery routes it, and records its key, before anything new).
  const first = await startDaemonProcess({ dir, pipelines });
  assert.equal(await post(first.url, bounce('a'.repeat(32))), 200);
  assert.ok(await waitFor(() => target.received.length === 1, 10_000), 'A delivered');
  assert.equal(await post(first.url, bounce('b'.repeat(32))), 200);
  first.kill('SIGKILL');
  await first.exited;

  const second = await startDaemonProcess({ dir, pipelines });
  assert.equal(await post(second.url, bounce('a'.repeat(32))), 200);
  assert.equal(await post(second.url, bounce('b'.repeat(32))), 200);
  assert.ok(
    await waitFor(async () => (await deduplicated(second)) === 2, 10_000),
    'both copies recognised after kill -9',
  );
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);

  const third = await startDaemonProcess({ dir, pipelines });
  t.after(() => third.kill('SIGKILL'));
  assert.equal(await post(third.url, bounce('a'.repeat(32))), 200);
  assert.equal(await post(third.url, bounce('b'.repeat(32))), 200);
  assert.ok(await waitFor(async () => (await deduplicated(third)) === 2, 10_000), 'recognised after a clean restart');
  const ids = (target.received as { messageId: string }[]).map((r) => r.messageId[0]).sort();
  assert.deepEqual(ids, ['a', 'b'], 'each event delivered once in all');
});

test('a copy after the window is delivered again', async (t) => {
  const { dir, target } = await sandbox(t);
  const d = await startDaemonProcess({ dir, pipelines: { bounces: pipeline(target.url, { window: '500ms' }) } });
  t.after(() => d.kill('SIGKILL'));
  assert.equal(await post(d.url, bounce()), 200);
  assert.ok(await waitFor(() => target.received.length === 1, 10_000));
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(await post(d.url, bounce()), 200);
  assert.ok(await waitFor(() => target.received.length === 2, 10_000), 'delivered again once the window passed');
  assert.equal(await deduplicated(d), 0);
});
