// Hot reload of many pipeline files against the real daemon process: ingress never notices.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { emailSend, post, startDaemonProcess, tempDir, waitFor } from './harness.ts';

const FILES = 50;

/** Pipeline `i`, version `v`: a file sink per pipeline, whose lines carry the event's seq and the version that routed it. */
function pipeline(dir: string, i: number, v: number): string {
  return [
    `name: p${i}`,
    `description: version ${v}`,
    'match: { events: [emailSend] }',
    `transform: '{ "seq": dataFields.seq, "v": ${v} }'`,
    'sinks:',
    '  - type: file',
    `    path: ${JSON.stringify(join(dir, 'out', `p${i}.jsonl`))}`,
    '',
  ].join('\n');
}

async function seqsIn(file: string): Promise<{ seq: number; v: number }[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { seq: number; v: number });
}

test(`${FILES} pipeline files rewritten (watcher and admin reloads) while events stream in: no failed or lost request`, async (t) => {
  const { dir, cleanup } = await tempDir();
  t.after(cleanup);
  const files = Object.fromEntries(Array.from({ length: FILES }, (_, i) => [`p${i}`, pipeline(dir, i, 1)]));
  const d = await startDaemonProcess({
    dir,
    pipelines: files,
    config: { pipelines: { dir: './pipelines', debounce: '50ms' } },
  });
  t.after(() => d.kill('SIGKILL'));
  const reloaded = () => d.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('pipelines reloaded'));

  const acked: number[] = [];
  const failed: string[] = [];
  let seq = 0;
  let running = true;
  const poster = async () => {
    while (running) {
      const s = seq++;
      const status = await post(d.url, emailSend(s));
      if (status === 200) acked.push(s);
      else failed.push(`seq ${s}: ${status || 'connection error'}`);
    }
  };
  const posters = [poster(), poster(), poster(), poster()];

  for (let v = 2; v <= 4; v++) {
    const before = reloaded().length;
    // Written as deploy tools and editors do (temp file, then rename), so no reload reads a half-written file.
    for (let i = 0; i < FILES; i++) {
      const file = join(dir, 'pipelines', `p${i}.yaml`);
      await writeFile(`${file}.tmp`, pipeline(dir, i, v));
      await rename(`${file}.tmp`, file);
    }
    // The watcher reloads the burst (maybe in parts); an admin reload right behind it coalesces or finds nothing new.
    const admin = await request(`http://127.0.0.1:${d.adminPort}/reload`, { method: 'POST' });
    assert.equal(admin.statusCode, 200);
    await admin.body.dump();
    assert.ok(await waitFor(() => reloaded().length > before, 10_000), `version ${v} reloaded`);
    const at = acked.length;
    assert.ok(await waitFor(() => acked.length > at + 20, 10_000), 'events still accepted after the reload');
  }
  running = false;
  await Promise.all(posters);

  assert.deepEqual(failed, [], 'no request failed during reloads');
  assert.ok(acked.length > 0);
  const recompiled = reloaded().reduce((sum, l) => sum + (l.recompiled as number), 0);
  assert.equal(recompiled, 3 * FILES, 'each rewritten file compiled once per version, nothing else');
  assert.deepEqual(
    reloaded().filter((l) => l.errors),
    [],
    'no reload saw a broken file',
  );
  // Nothing lost: every accepted event reached every pipeline's file, and the last events ran under the last version.
  const last = Math.max(...acked);
  for (let i = 0; i < FILES; i++) {
    const file = join(dir, 'out', `p${i}.jsonl`);
    assert.ok(await waitFor(async () => (await seqsIn(file)).some((r) => r.seq === last), 15_000), `p${i} caught up`);
    const lines = await seqsIn(file);
    const seen = new Set(lines.map((r) => r.seq));
    assert.deepEqual(
      acked.filter((s) => !seen.has(s)),
      [],
      `p${i} lost nothing`,
    );
    assert.equal(lines.find((r) => r.seq === last)?.v, 4, `p${i} routes by the last version`);
  }
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});
