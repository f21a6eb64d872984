// Issue 5 end to end: the daemon as a child process loses nothing it acknowledged — kill -9, SIGTERM, outages, quota, torn tails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, stat, open } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { Target, emailSend, forwardPipeline, post, sandbox, startDaemonProcess, waitFor } from './harness.ts';

/** Post events with `concurrency` workers until `stop()`; returns the seqs that got 200 and every status seen. */
function postLoop(url: string, concurrency = 8, max = 5000) {
  const acked = new Set<number>();
  const statuses = new Map<number, number>();
  let next = 0;
  let running = true;
  const workers = Array.from({ length: concurrency }, async () => {
    while (running && next < max) {
      const seq = next++;
      const status = await post(url, emailSend(seq));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === 200) acked.add(seq);
    }
  });
  return {
    acked,
    statuses,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

const seqsOf = (t: Target) => new Set((t.received as { seq: number }[]).map((r) => r.seq));

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  // A segment may be deleted between the listing and the stat: that is the drain working, not an error.
  for (const name of await readdir(dir).catch(() => [] as string[]))
    total += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  return total;
}

test('kill -9 at a random moment loses no acknowledged event', async (t) => {
  const { dir, target } = await sandbox(t);
  const pipelines = { forward: forwardPipeline(target.url) };
  const first = await startDaemonProcess({ dir, pipelines });
  const loop = postLoop(first.url, 16);
  await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 700)));
  first.kill('SIGKILL');
  await first.exited;
  await loop.stop();
  assert.ok(loop.acked.size > 0, 'some events were acknowledged before the kill');

  const second = await startDaemonProcess({ dir, pipelines });
  t.after(() => second.kill('SIGKILL'));
  const all = await waitFor(() => [...loop.acked].every((s) => seqsOf(target).has(s)), 30_000);
  const missing = [...loop.acked].filter((s) => !seqsOf(target).has(s));
  assert.ok(all, `acknowledged but never delivered: ${missing.slice(0, 20).join(', ')} (${missing.length} in all)`);
  const duplicates = target.received.length - seqsOf(target).size;
  t.diagnostic(`acked ${loop.acked.size}, delivered ${target.received.length}, duplicates ${duplicates}`);
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('SIGTERM during traffic exits 0 within the grace period and nothing is lost across the restart', async (t) => {
  const { dir, target } = await sandbox(t);
  target.mode = 'fail';
  const pipelines = { forward: forwardPipeline(target.url) };
  const config = { shutdown: { grace: '1s' } };
  const first = await startDaemonProcess({ dir, pipelines, config });
  const loop = postLoop(first.url, 8, 2000);
  await new Promise((r) => setTimeout(r, 400));
  first.kill('SIGTERM');
  const code = await first.exited;
  await loop.stop();
  assert.equal(code, 0, 'graceful exit');
  assert.ok(loop.acked.size > 0);
  for (const status of loop.statuses.keys())
    assert.ok([200, 503, 0].includes(status), `unexpected status ${status} during shutdown`);

  target.mode = 'ok';
  const second = await startDaemonProcess({ dir, pipelines, config });
  t.after(() => second.kill('SIGKILL'));
  assert.ok(
    await waitFor(() => [...loop.acked].every((s) => seqsOf(target).has(s)), 30_000),
    'every acknowledged event delivered after restart',
  );
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('a sink down for the whole run: backlog on disk, all delivered when it comes back, storage shrinks', async (t) => {
  const { dir, target } = await sandbox(t);
  target.mode = 'fail';
  const d = await startDaemonProcess({
    dir,
    pipelines: { forward: forwardPipeline(target.url, { queue: { concurrency: 4, capacity: 50 } }) },
    config: { storage: { dir: './data', segmentBytes: '64kb' } },
  });
  t.after(() => d.kill('SIGKILL'));
  const count = 1500;
  for (let i = 0; i < count; i += 50) {
    const statuses = await Promise.all(Array.from({ length: 50 }, (_, j) => post(d.url, emailSend(i + j))));
    assert.ok(statuses.every((s) => s === 200));
  }
  const journal = join(dir, 'data', 'journal');
  const during = await dirBytes(journal);
  target.mode = 'ok';
  assert.ok(await waitFor(() => seqsOf(target).size === count, 30_000), `delivered ${seqsOf(target).size} of ${count}`);
  assert.ok(
    await waitFor(async () => (await dirBytes(journal)) < during / 2, 10_000),
    'journal segments removed after the drain',
  );
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

test('over storage.maxDiskBytes ingress answers 503 with Retry-After, and 200 again once the backlog drains', async (t) => {
  const { dir, target } = await sandbox(t);
  target.mode = 'fail';
  const d = await startDaemonProcess({
    dir,
    pipelines: { forward: forwardPipeline(target.url, { queue: { concurrency: 4, capacity: 20 } }) },
    config: { storage: { dir: './data', segmentBytes: '64kb', maxDiskBytes: '1mb' } },
  });
  t.after(() => d.kill('SIGKILL'));
  let refused: { status: number; retryAfter: string | undefined; body: string } | undefined;
  for (let seq = 0; seq < 20_000 && !refused; seq++) {
    const res = await request(d.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(emailSend(seq)),
    });
    const body = await res.body.text();
    if (res.statusCode !== 200)
      refused = { status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined, body };
  }
  assert.ok(refused, 'the quota was reached');
  assert.equal(refused.status, 503);
  assert.ok(refused.retryAfter && Number(refused.retryAfter) > 0, 'Retry-After present');
  assert.equal(JSON.parse(refused.body).error, 'storage_full');
  target.mode = 'ok';
  assert.ok(
    await waitFor(async () => (await post(d.url, emailSend(999_999))) === 200, 30_000),
    'accepting again after the drain',
  );
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

test('a torn and corrupted journal tail is cut off; intact events are delivered after restart', async (t) => {
  const { dir, target } = await sandbox(t);
  target.mode = 'fail';
  const pipelines = { forward: forwardPipeline(target.url) };
  const first = await startDaemonProcess({ dir, pipelines });
  for (let seq = 0; seq < 100; seq++) assert.equal(await post(first.url, emailSend(seq)), 200);
  first.kill('SIGKILL');
  await first.exited;

  const journal = join(dir, 'data', 'journal');
  const segments = (await readdir(journal)).filter((n) => n.endsWith('.log')).sort();
  const newest = join(journal, segments.at(-1)!);
  const size = (await stat(newest)).size;
  const fh = await open(newest, 'r+');
  await fh.truncate(size - 7); // torn tail: the last frame loses its end
  await fh.write(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0x04]), 0, 9, size - 7); // plus garbage after it
  await fh.close();

  target.mode = 'ok';
  const second = await startDaemonProcess({ dir, pipelines });
  t.after(() => second.kill('SIGKILL'));
  assert.ok(
    second.logs.some((l) => typeof l.msg === 'string' && /corrupt|torn/i.test(l.msg)),
    'the cut is logged',
  );
  // Every event but (at most) the torn last one is intact and delivered.
  assert.ok(await waitFor(() => seqsOf(target).size >= 99, 30_000), `delivered ${seqsOf(target).size}`);
  for (let seq = 0; seq < 99; seq++) assert.ok(seqsOf(target).has(seq), `event ${seq} delivered`);
  assert.equal(await post(second.url, emailSend(1000)), 200, 'still accepting');
  second.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});
