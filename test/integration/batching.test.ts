// Issue 11 end to end: batches and Idempotency-Key through the daemon as a child process, across kill -9 and restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { emailSend, forwardPipeline, post, startDaemonProcess, tempDir, waitFor } from './harness.ts';
import { recordingReceiver, type Answer, type RecordedRequest } from '../fixtures/recording-receiver.ts';

/** The seqs in one request: a batch (JSON array) or one payload. */
const seqs = (r: RecordedRequest): number[] => {
  const body = JSON.parse(r.text) as { seq: number } | { seq: number }[];
  return (Array.isArray(body) ? body : [body]).map((p) => p.seq);
};

async function setup(t: { after(fn: () => Promise<void>): void }, answer: (r: RecordedRequest) => Answer) {
  const { dir, cleanup } = await tempDir();
  const dest = await recordingReceiver(answer);
  t.after(async () => {
    await dest.close();
    await cleanup();
  });
  return { dir, dest };
}

test('Idempotency-Key: the same on every retry and after kill -9 and restart, for one event and for a batch', async (t) => {
  let down = true;
  const { dir, dest } = await setup(t, () => (down ? { status: 503, body: 'down' } : { status: 200 }));
  const pipelines = {
    forward: forwardPipeline(dest.url),
    batched: {
      ...forwardPipeline(dest.url, { batch: { maxEvents: 3, maxWait: '1h' } }),
      name: 'batched',
      match: { events: ['emailClick'] },
    },
  };
  pipelines.forward = { ...pipelines.forward, match: { events: ['emailSend'] } };
  const first = await startDaemonProcess({ dir, pipelines });
  assert.equal(await post(first.url, emailSend(1)), 200);
  for (const seq of [101, 102, 103])
    assert.equal(await post(first.url, { ...emailSend(seq), eventName: 'emailClick' }), 200);
  const batches = () => dest.requests.filter((r) => seqs(r).length === 3);
  const singles = () => dest.requests.filter((r) => seqs(r).length === 1);
  assert.ok(await waitFor(() => batches().length >= 2 && singles().length >= 2, 20_000), 'retries seen');
  first.kill('SIGKILL');
  await first.exited;
  const before = dest.requests.length;

  const second = await startDaemonProcess({ dir, pipelines });
  t.after(async () => second.kill('SIGKILL'));
  assert.ok(await waitFor(() => batches().length >= 4 && singles().length >= 4, 20_000), 'retried after the restart');
  assert.ok(dest.requests.length > before);
  const mark = dest.requests.length;
  down = false;
  const after = () => dest.requests.slice(mark);
  assert.ok(
    await waitFor(() => after().some((r) => seqs(r).length === 1) && after().some((r) => seqs(r).length === 3), 20_000),
    'delivered once the destination is up',
  );

  const keyOf = (r: RecordedRequest) => r.headers['idempotency-key'];
  const singleKeys = new Set(singles().map(keyOf));
  const batchKeys = new Set(batches().map(keyOf));
  assert.equal(singleKeys.size, 1, `one key for the single event across retries and the restart: ${[...singleKeys]}`);
  assert.equal(batchKeys.size, 1, `one key for the batch across retries and the restart: ${[...batchKeys]}`);
  assert.match(String([...singleKeys][0]), /^[0-9a-f]{32}$/);
  assert.notEqual([...singleKeys][0], [...batchKeys][0]);
  assert.ok(batches().every((r) => seqs(r).sort().join() === '101,102,103'));
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('kill -9 while batches are in flight: every acknowledged event is delivered at least once', async (t) => {
  const { dir, dest } = await setup(t, () => ({ status: 200, delayMs: 100 }));
  const pipelines = { forward: forwardPipeline(dest.url, { batch: { maxEvents: 50, maxWait: '50ms' }, queue: {} }) };
  const first = await startDaemonProcess({ dir, pipelines });
  const acked = new Set<number>();
  let next = 0;
  let running = true;
  const workers = Array.from({ length: 16 }, async () => {
    while (running && next < 5000) {
      const seq = next++;
      if ((await post(first.url, emailSend(seq))) === 200) acked.add(seq);
    }
  });
  // Kill once batches are going out, while more are in flight (the destination takes 100 ms to answer each).
  assert.ok(await waitFor(() => dest.requests.length >= 3 && acked.size >= 500, 20_000), 'batches in flight');
  first.kill('SIGKILL');
  await first.exited;
  running = false;
  await Promise.all(workers);
  assert.ok(acked.size > 0);
  assert.ok(
    dest.requests.some((r) => seqs(r).length > 1),
    'events went out in batches',
  );

  const second = await startDaemonProcess({ dir, pipelines });
  t.after(async () => second.kill('SIGKILL'));
  const delivered = () => new Set(dest.requests.flatMap(seqs));
  const all = await waitFor(() => {
    const d = delivered();
    return [...acked].every((s) => d.has(s));
  }, 30_000);
  const d = delivered();
  const missing = [...acked].filter((s) => !d.has(s));
  assert.ok(all, `acknowledged but never delivered: ${missing.slice(0, 20).join(', ')} (${missing.length} in all)`);
  t.diagnostic(
    `acked ${acked.size}, requests ${dest.requests.length}, events sent ${dest.requests.flatMap(seqs).length}`,
  );
  // The adaptive limit (the http default) is in GET /pipelines and in the metrics.
  const view = (await (await request(`http://127.0.0.1:${second.adminPort}/pipelines`)).body.json()) as {
    pipelines: { sinks: { concurrency: { mode: string; limit: number; max: number } }[] }[];
  };
  const c = view.pipelines[0]!.sinks[0]!.concurrency;
  assert.deepEqual([c.mode, c.max], ['adaptive', 128]);
  assert.ok(c.limit >= 1 && c.limit <= 128);
  const metrics = await (await request(`http://127.0.0.1:${second.adminPort}/metrics`)).body.text();
  assert.match(metrics, /hookroute_sink_concurrency_limit\{pipeline="forward",sink="http"\} \d+/);
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});
