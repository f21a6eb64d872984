// A typo plus a restart must not stop routing: the daemon runs the broken file's last good version, and says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';
import { BIN, emailSend, forwardPipeline, post, sandbox, startDaemonProcess, waitFor } from './harness.ts';

test('a pipeline file broken at restart runs its last good version: logged, in /pipelines and a metric; validate fails', async (t) => {
  const { dir, target } = await sandbox(t);
  const first = await startDaemonProcess({ dir, pipelines: { forward: forwardPipeline(target.url) } });
  assert.equal(await post(first.url, emailSend(1)), 200);
  assert.ok(await waitFor(() => target.received.length === 1, 10_000), 'delivered before the restart');
  first.kill('SIGTERM');
  await first.exited;

  // An edit with a typo (an unknown key), then a restart.
  const file = join(dir, 'pipelines', 'forward.yaml');
  await writeFile(file, stringify({ ...forwardPipeline(target.url), trnasform: '$' }));
  const d = await startDaemonProcess({ dir });
  t.after(async () => {
    d.kill('SIGTERM');
    await d.exited;
  });
  const admin = `http://127.0.0.1:${d.adminPort}`;
  const view = (await (await request(`${admin}/pipelines`)).body.json()) as {
    pipelines: { name: string }[];
    loadErrors: string[];
    lastGood: string[];
  };
  assert.deepEqual(
    view.pipelines.map((p) => p.name),
    ['forward'],
  );
  assert.deepEqual(view.lastGood, [file]);
  assert.ok(
    view.loadErrors.some((e) => /trnasform: unknown key/.test(e)),
    view.loadErrors.join('\n'),
  );
  assert.ok(view.loadErrors.some((e) => /running its last good version/.test(e)));
  assert.match(await (await request(`${admin}/metrics`)).body.text(), /hookroute_pipelines_last_good 1/);
  assert.ok(d.logs.some((l) => l.level === 50 && /running its last good version/.test(String(l.problem))));

  assert.equal(await post(d.url, emailSend(2)), 200);
  assert.ok(await waitFor(() => target.received.length === 2, 10_000), 'still routed after the restart');
  assert.deepEqual(target.received.at(-1), { seq: 2, eventName: 'emailSend' });

  const validate = spawnSync(process.execPath, [BIN, 'validate', '-c', join(dir, 'config.yaml')], {
    cwd: dir,
    encoding: 'utf8',
  });
  assert.equal(validate.status, 1, 'validate fails on the broken file');
  assert.match(validate.stdout, /trnasform: unknown key/);
});
