// The daemon end to end through its contract: real payloads in, stdout and HTTP sinks out, admin, reload, send, dlq.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { stringify } from 'yaml';
import {
  BIN,
  ROOT,
  Target,
  emailSend,
  forwardPipeline,
  post,
  sandbox,
  startDaemonProcess,
  tempDir,
  waitFor,
} from './harness.ts';

const run = promisify(execFile);

async function cli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}

test('real Iterable payloads are accepted and reach stdout through the shipped pipelines', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const d = await startDaemonProcess({ dir, config: { pipelines: { dir: join(ROOT, 'pipelines') } } });
  t.after(() => d.kill('SIGKILL'));
  const samples = (await readFile(join(ROOT, 'test', 'fixtures', 'iterable-samples.jsonl'), 'utf8')).trim().split('\n');
  assert.ok(samples.length >= 6);
  for (const line of samples) assert.equal(await post(d.url, line), 200, line.slice(0, 80));
  const names = samples.map((l) => (JSON.parse(l) as { eventName: string }).eventName);
  assert.ok(
    await waitFor(() => names.every((n) => d.stdout().includes(`"eventName":"${n}"`)), 10_000),
    `every event on stdout; got:\n${d.stdout().slice(0, 2000)}`,
  );
  // The bounce went to the JSONL file too (shipped bounces-to-file pipeline).
  const bounceFile = join(dir, 'data', 'out', 'bounces.jsonl');
  const sentBounce = await post(d.url, {
    email: 'b@x.com',
    eventName: 'emailBounce',
    dataFields: { campaignId: 1, createdAt: '2016-12-02 20:21:04 +00:00' },
  });
  assert.equal(sentBounce, 200);
  assert.ok(
    await waitFor(async () => (await readFile(bounceFile, 'utf8').catch(() => '')).includes('b@x.com'), 10_000),
    'bounce recorded in the file sink',
  );
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

test('admin: healthz, readyz, metrics count what was sent, pipelines JSON, reload', async (t) => {
  const { dir, target } = await sandbox(t);
  const d = await startDaemonProcess({ dir, pipelines: { forward: forwardPipeline(target.url) } });
  t.after(() => d.kill('SIGKILL'));
  const admin = `http://127.0.0.1:${d.adminPort}`;
  for (let i = 0; i < 5; i++) assert.equal(await post(d.url, emailSend(i)), 200);
  assert.equal(await post(d.url, '{nope'), 400);
  assert.ok(await waitFor(() => target.received.length === 5, 10_000));

  const health = await request(`${admin}/healthz`);
  assert.equal(health.statusCode, 200);
  await health.body.dump();
  const ready = await request(`${admin}/readyz`);
  assert.equal(ready.statusCode, 200);
  await ready.body.dump();
  const metrics = await (await request(`${admin}/metrics`)).body.text();
  assert.match(metrics, /hookroute_ingress_requests_total\{status="200"\} 5/);
  assert.match(metrics, /hookroute_ingress_requests_total\{status="400"\} 1/);
  assert.match(metrics, /hookroute_events_accepted_total\{event="emailSend"\} 5/);
  assert.match(metrics, /hookroute_sink_deliveries_total\{pipeline="forward",sink="http",result="delivered"\} 5/);
  const pipelines = (await (await request(`${admin}/pipelines`)).body.json()) as {
    pipelines: { name: string; sinks: { key: string; delivered: number }[] }[];
  };
  const forward = pipelines.pipelines.find((p) => p.name === 'forward');
  assert.ok(forward);
  assert.equal(forward.sinks[0]?.key, 'forward/http');
  assert.equal(forward.sinks[0]?.delivered, 5);
  // A flood of made-up eventNames is accepted and routable, but cannot grow the label set: they all count as `other`.
  const random = Array.from({ length: 50 }, (_, i) => `made_up_${i}_${Math.random().toString(36).slice(2)}`);
  for (const eventName of random) assert.equal(await post(d.url, { eventName, email: 'x@y.z' }), 200);
  const after = await (await request(`${admin}/metrics`)).body.text();
  assert.match(after, /hookroute_events_accepted_total\{event="other"\} 50/);
  for (const name of random) assert.ok(!after.includes(name), `metric label leaked: ${name}`);
  const reload = await request(`${admin}/reload`, { method: 'POST' });
  assert.equal(reload.statusCode, 200);
  assert.equal(((await reload.body.json()) as { ok: boolean }).ok, true);
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

test('pipelines reload on file change under a steady stream: no failed or lost request, broken file keeps the old version', async (t) => {
  const { dir, target } = await sandbox(t);
  const file = join(dir, 'pipelines', 'forward.yaml');
  const d = await startDaemonProcess({
    dir,
    pipelines: { forward: forwardPipeline(target.url) },
    config: { pipelines: { dir: './pipelines', debounce: '50ms' } },
  });
  t.after(() => d.kill('SIGKILL'));
  const acked = new Set<number>();
  const failed: number[] = [];
  let seq = 0;
  let running = true;
  const poster = (async () => {
    while (running) {
      const s = seq++;
      const status = await post(d.url, emailSend(s));
      if (status === 200) acked.add(s);
      else failed.push(status);
    }
  })();
  const v2 = forwardPipeline(target.url);
  v2.transform = '{ "seq": dataFields.seq, "eventName": eventName, "v": 2 }';
  await new Promise((r) => setTimeout(r, 200));
  await writeFile(file, stringify(v2));
  const sawV2 = await waitFor(() => (target.received as { v?: number }[]).some((r) => r.v === 2), 5000);
  await writeFile(file, 'name: forward\nsinks: [ {type: http, url: \n'); // broken YAML
  await new Promise((r) => setTimeout(r, 400));
  const countBefore = target.received.length;
  const stillRouting = await waitFor(
    () => (target.received as { v?: number }[]).slice(countBefore).some((r) => r.v === 2),
    5000,
  );
  running = false;
  await poster;
  assert.ok(sawV2, 'the edited pipeline took effect');
  assert.ok(stillRouting, 'a broken file keeps the previous version running');
  assert.deepEqual(failed, [], 'no request failed during reloads');
  assert.ok(
    await waitFor(
      () => [...acked].every((s) => (target.received as { seq: number }[]).some((r) => r.seq === s)),
      15_000,
    ),
    'nothing lost',
  );
  const pipelines = (await (await request(`http://127.0.0.1:${d.adminPort}/pipelines`)).body.json()) as {
    loadErrors: string[];
  };
  assert.ok(
    pipelines.loadErrors.some((e) => e.includes('forward.yaml')),
    'the broken file is reported by the admin listener',
  );
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

test('`hookroute send --event all` against the running daemon: every event type accepted', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const d = await startDaemonProcess({
    dir,
    pipelines: { out: { sinks: [{ type: 'file', path: './data/out/all.jsonl' }] } },
  });
  t.after(() => d.kill('SIGKILL'));
  const res = await cli(['send', '--url', d.url, '--event', 'all'], dir);
  assert.equal(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, /200/);
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

test('dead letters: a failing target fills the DLQ; dlq list and replay work with the daemon running and stopped', async (t) => {
  const { dir, cleanup } = await tempDir();
  const target = await new Target().start();
  const bad = await new Target().start();
  t.after(async () => {
    await target.stop();
    await bad.stop();
    await cleanup();
  });
  // `bad` answers 503 → after the (few) attempts, dead letters; permanent 400s are covered by the lane tests.
  bad.mode = 'fail';
  const pipelines = {
    forward: forwardPipeline(bad.url, { retry: { attempts: 2, initialDelay: '10ms', maxDelay: '20ms' } }),
  };
  const d = await startDaemonProcess({ dir, pipelines });
  t.after(() => d.kill('SIGKILL'));
  for (let i = 0; i < 3; i++) assert.equal(await post(d.url, emailSend(i)), 200);
  const configFile = join(dir, 'config.yaml');
  let listed = '';
  assert.ok(
    await waitFor(async () => {
      listed = (await cli(['dlq', 'list', '-c', configFile, '--json'], dir)).stdout;
      return /"count":\s*3/.test(listed);
    }, 15_000),
    `dlq list shows 3 dead letters: ${listed}`,
  );
  bad.mode = 'ok';
  const replay = await cli(['dlq', 'replay', '-c', configFile], dir);
  assert.equal(replay.code, 0, replay.stdout + replay.stderr);
  assert.ok(
    await waitFor(() => bad.received.length === 3, 15_000),
    `replayed deliveries arrived: ${bad.received.length}`,
  );
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);

  // Offline: new dead letters written by a daemon, replayed by the CLI while no daemon runs.
  bad.mode = 'fail';
  const d2 = await startDaemonProcess({ dir, pipelines });
  for (let i = 10; i < 12; i++) assert.equal(await post(d2.url, emailSend(i)), 200);
  assert.ok(
    await waitFor(
      async () => /"count":\s*2/.test((await cli(['dlq', 'list', '-c', configFile, '--json'], dir)).stdout),
      15_000,
    ),
  );
  d2.kill('SIGTERM');
  assert.equal(await d2.exited, 0);
  const offlineList = await cli(['dlq', 'list', '-c', configFile], dir);
  assert.match(offlineList.stdout, /forward/);
  bad.mode = 'ok';
  const offlineReplay = await cli(['dlq', 'replay', '-c', configFile], dir);
  assert.equal(offlineReplay.code, 0, offlineReplay.stdout + offlineReplay.stderr);
  assert.equal(bad.received.length, 5);
  const after = await cli(['dlq', 'list', '-c', configFile, '--json'], dir);
  assert.doesNotMatch(after.stdout, /"count":\s*[1-9]/);
});

test('invalid events: quarantined by default (accepted, in the DLQ with their errors), 422 with onInvalid: reject', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const bad = {
    email: 'u@x.com',
    eventName: 'emailSend',
    dataFields: { campaignId: 'not-a-number', createdAt: '2016-12-02 20:21:04 +00:00' },
  };
  const d = await startDaemonProcess({
    dir,
    pipelines: { out: { sinks: [{ type: 'file', path: './data/out/all.jsonl' }] } },
  });
  assert.equal(await post(d.url, bad), 200);
  const listed = await cli(['dlq', 'list', '-c', join(dir, 'config.yaml'), '--json'], dir);
  assert.match(listed.stdout, /quarantined/);
  assert.match(listed.stdout, /campaignId/);
  const metrics = await (await request(`http://127.0.0.1:${d.adminPort}/metrics`)).body.text();
  assert.match(metrics, /hookroute_events_quarantined_total\{event="emailSend"\} 1/);
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);

  const strict = await startDaemonProcess({ dir, config: { validation: { onInvalid: 'reject' } } });
  t.after(() => strict.kill('SIGKILL'));
  const res = await request(strict.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(bad),
  });
  assert.equal(res.statusCode, 422);
  const body = (await res.body.json()) as { error: string; message: string };
  assert.equal(typeof body.message, 'string');
  assert.ok(body.error.length > 0);
  strict.kill('SIGTERM');
  assert.equal(await strict.exited, 0);
});

test('SIGHUP reloads pipelines without closing the ingress', async (t) => {
  const { dir, target } = await sandbox(t);
  const d = await startDaemonProcess({
    dir,
    pipelines: {},
    config: { pipelines: { dir: './pipelines', watch: false } },
  });
  t.after(() => d.kill('SIGKILL'));
  assert.equal(await post(d.url, emailSend(1)), 200);
  await writeFile(join(dir, 'pipelines', 'forward.yaml'), stringify(forwardPipeline(target.url)));
  d.kill('SIGHUP');
  assert.ok(
    await waitFor(() => d.logs.some((l) => l.msg === 'pipelines reloaded' && l.reason === 'SIGHUP'), 10_000),
    'reload logged',
  );
  assert.equal(await post(d.url, emailSend(2)), 200);
  assert.ok(
    await waitFor(() => (target.received as { seq: number }[]).some((r) => r.seq === 2), 10_000),
    'routed by the new pipeline',
  );
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});

test('readiness: /readyz answers 503 when the storage folder disappears under the running daemon', async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const d = await startDaemonProcess({ dir, pipelines: { out: { sinks: [{ type: 'file', path: './out.jsonl' }] } } });
  t.after(() => d.kill('SIGKILL'));
  const readyz = async () => {
    const res = await request(`http://127.0.0.1:${d.adminPort}/readyz`);
    return { status: res.statusCode, body: (await res.body.json()) as { failing: string[] } };
  };
  assert.equal((await readyz()).status, 200);
  await rm(join(dir, 'data'), { recursive: true, force: true });
  const after = await readyz();
  assert.equal(after.status, 503);
  assert.deepEqual(after.body.failing, ['storageWritable']);
});
