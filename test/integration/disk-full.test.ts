// Issue 17 end to end on a real full disk (a small tmpfs): the daemon as a child process answers 503 with Retry-After
// and /readyz 503 while its writes fail, writes again by itself once there is space (no restart), never acknowledges an
// event it did not store, counts dead letters in its quota, and keeps an event owed while its dead letter cannot be written.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { DeadLetterStore } from '../../src/dead-letters/store.ts';
import { deadLetterDir } from '../../src/journal/layout.ts';
import {
  Target,
  emailSend,
  forwardPipeline,
  sandbox,
  startDaemonProcess,
  tempDir,
  waitFor,
  type DaemonProcess,
} from './harness.ts';
import { mountTmpfs } from './tmpfs.ts';

async function postFull(url: string, body: unknown): Promise<{ status: number; retryAfter?: string; error?: string }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  const retryAfter = res.headers['retry-after'];
  return {
    status: res.statusCode,
    ...(typeof retryAfter === 'string' && { retryAfter }),
    ...(res.statusCode !== 200 && { error: (JSON.parse(text) as { error: string }).error }),
  };
}

async function readyz(d: DaemonProcess): Promise<{ status: number; failing: string[] }> {
  const res = await request(`http://127.0.0.1:${d.adminPort}/readyz`);
  const body = (await res.body.json()) as { failing: string[] };
  return { status: res.statusCode, failing: body.failing };
}

async function metric(d: DaemonProcess, name: string): Promise<number> {
  const res = await request(`http://127.0.0.1:${d.adminPort}/metrics`);
  const line = (await res.body.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function deadLetterSeqs(storageDir: string): Promise<Set<number>> {
  const store = await DeadLetterStore.open(deadLetterDir(storageDir));
  const seqs = new Set<number>();
  for await (const d of store.list()) seqs.add((d.event.dataFields as { seq: number }).seq);
  await store.close();
  return seqs;
}

/**
 * A temp folder, a loopback target and a tmpfs mounted at `mountAt(dir)`. One after-hook undoes them in order: the
 * daemons started with `track` are killed before the unmount, the unmount comes before the folder is removed.
 */
async function diskSandbox(t: TestContext, mountAt: (dir: string) => string, size: string) {
  const { dir, cleanup } = await tempDir();
  const target = await new Target().start();
  const disk = await mountTmpfs(mountAt(dir), size).catch(async (err: unknown) => {
    await target.stop();
    await cleanup();
    throw err;
  });
  const daemons: DaemonProcess[] = [];
  t.after(async () => {
    for (const d of daemons) {
      d.kill('SIGKILL');
      await d.exited;
    }
    disk.unmount();
    await target.stop();
    await cleanup();
  });
  return { dir, target, disk, track: (d: DaemonProcess) => (daemons.push(d), d) };
}

const seqsOf = (received: unknown[]) => new Set((received as { seq: number }[]).map((r) => r.seq));

test('journal disk full: 503 + Retry-After and /readyz 503 while full, back by itself when space returns, nothing acknowledged lost', async (t) => {
  const { dir, target, disk, track } = await diskSandbox(t, (d) => join(d, 'data'), '2m');
  const daemon = track(await startDaemonProcess({ dir, pipelines: { forward: forwardPipeline(target.url) } }));

  const acked = new Set<number>();
  let seq = 0;
  for (; seq < 20; seq++) if ((await postFull(daemon.url, emailSend(seq))).status === 200) acked.add(seq);
  assert.equal(acked.size, 20);

  await disk.fill();
  // The last partly used page of a segment may still take a write or two: post until the disk says no.
  let refused: Awaited<ReturnType<typeof postFull>> | undefined;
  for (let i = 0; i < 500 && !refused; i++, seq++) {
    const r = await postFull(daemon.url, emailSend(seq));
    if (r.status === 200) acked.add(seq);
    else refused = r;
  }
  assert.ok(refused, 'a full disk is refused');
  assert.equal(refused.status, 503);
  assert.equal(refused.error, 'storage_error');
  assert.ok(Number(refused.retryAfter) >= 1, `Retry-After given (${refused.retryAfter})`);
  assert.ok(await waitFor(async () => (await readyz(daemon)).status === 503, 5_000), '/readyz says not ready');
  assert.deepEqual((await readyz(daemon)).failing, ['storageWritable']);
  assert.ok((await metric(daemon, 'hookroute_journal_write_failures_total')) >= 1);
  // Still full: still refused, and nothing refused is ever delivered below.
  const whileFull = [];
  for (let i = 0; i < 5; i++, seq++) {
    const r = await postFull(daemon.url, emailSend(seq));
    if (r.status === 200) acked.add(seq);
    else whileFull.push(r.status);
  }
  assert.ok(whileFull.every((s) => s === 503));

  await disk.free();
  assert.ok(await waitFor(async () => (await readyz(daemon)).status === 200, 20_000), 'ready again without a restart');
  const after = seq++;
  assert.equal((await postFull(daemon.url, emailSend(after))).status, 200);
  acked.add(after);
  assert.ok(
    await waitFor(() => [...acked].every((s) => seqsOf(target.received).has(s)), 20_000),
    `every acknowledged event delivered; missing: ${[...acked].filter((s) => !seqsOf(target.received).has(s)).join(',')}`,
  );
  assert.ok(daemon.logs.some((l) => l.msg === 'journal: writes succeed again; accepting events'));
});

test('dead-letter disk full: the event stays owed (also across kill -9) and is dead-lettered once there is space', async (t) => {
  // Only the dead-letter folder is on the small disk: the journal keeps working.
  const { dir, target, disk, track } = await diskSandbox(t, (d) => deadLetterDir(join(d, 'data')), '1m');
  target.mode = 'fail';
  const storageDir = join(dir, 'data');
  const pipelines = { forward: forwardPipeline(target.url, { retry: { attempts: 1 } }) };
  const first = track(await startDaemonProcess({ dir, pipelines }));
  await disk.fill();

  const acked: number[] = [];
  for (let s = 0; s < 10; s++) if ((await postFull(first.url, emailSend(s))).status === 200) acked.push(s);
  assert.equal(acked.length, 10, 'the journal is not full: events are accepted');
  assert.ok(
    await waitFor(async () => (await readyz(first)).failing.includes('storageWritable'), 20_000),
    'a failing dead-letter queue shows in readiness',
  );
  first.kill('SIGKILL');
  await first.exited;
  assert.equal((await deadLetterSeqs(storageDir)).size, 0, 'nothing could be dead-lettered while full');

  await disk.free();
  const second = track(await startDaemonProcess({ dir, pipelines }));
  assert.ok(
    await waitFor(async () => (await deadLetterSeqs(storageDir)).size === acked.length, 30_000),
    'every acknowledged event dead-lettered after the restart',
  );
  assert.deepEqual(
    [...(await deadLetterSeqs(storageDir))].sort((a, b) => a - b),
    acked,
  );
  assert.ok(await waitFor(async () => (await readyz(second)).status === 200, 20_000));
});

test('the disk quota counts dead letters: 503 storage_full once journal and dead letters reach storage.maxDiskBytes', async (t) => {
  const { dir, target } = await sandbox(t);
  target.mode = 'fail';
  const daemon = await startDaemonProcess({
    dir,
    config: { storage: { dir: './data', maxDiskBytes: '1mb', segmentBytes: '64kb' } },
    pipelines: { forward: forwardPipeline(target.url, { retry: { attempts: 1 } }) },
  });
  t.after(() => daemon.kill('SIGKILL'));
  let full: Awaited<ReturnType<typeof postFull>> | undefined;
  for (let wave = 0; wave < 200 && !full; wave++) {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => postFull(daemon.url, emailSend(wave * 50 + i))),
    );
    full = answers.find((r) => r.status !== 200);
    // Let the lane dead-letter the wave, so the dead letters, not the journal, fill the quota.
    await waitFor(async () => (await metric(daemon, 'hookroute_journal_pending_events')) === 0, 10_000);
  }
  assert.ok(full, 'the quota is reached');
  assert.equal(full.status, 503);
  assert.equal(full.error, 'storage_full');
  assert.ok(Number(full.retryAfter) >= 1);
  const dlqBytes = await metric(daemon, 'hookroute_dead_letter_bytes');
  const journalBytes = await metric(daemon, 'hookroute_journal_bytes');
  assert.ok(dlqBytes > journalBytes, `dead letters (${dlqBytes} B) fill most of the quota (journal ${journalBytes} B)`);
  assert.ok(dlqBytes + journalBytes >= 1024 * 1024);
  assert.equal((await readyz(daemon)).status, 503);
});
