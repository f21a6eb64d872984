// `npm run build`: the one-file bundle runs with plain node (no tsx), loads the native uWS binary and accepts an event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, post, tempDir, waitFor } from './integration/harness.ts';

test('the bundled build starts with plain node and accepts an event', async (t) => {
  const { dir, cleanup } = await tempDir('hookroute-build-');
  t.after(cleanup);
  const out = join(dir, 'dist');
  const build = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build.ts'), '--out', out], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 });
  assert.equal(build.status, 0, build.stderr);

  await mkdir(join(dir, 'pipelines'));
  await writeFile(join(dir, 'pipelines', 'out.yaml'), stringify({ sinks: [{ type: 'file', path: './out.jsonl' }] }));
  await writeFile(join(dir, 'config.yaml'), stringify({ server: { host: '127.0.0.1', port: 0 }, admin: { port: 0 } }));
  const child = spawn(process.execPath, [join(out, 'hookroute.js'), 'start', '-c', join(dir, 'config.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.after(() => child.kill('SIGKILL'));
  let logs = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (logs += c));
  assert.ok(await waitFor(() => logs.includes('hookroute started'), 20_000), logs);
  assert.match(logs, /"native":true/, 'the native uWebSockets.js binary shipped beside the bundle is used');
  const port = Number(/"port":(\d+),"adminPort"/.exec(logs)?.[1]);
  assert.equal(await post(`http://127.0.0.1:${port}/webhook`, { email: 'u@x.com', eventName: 'emailOpen', dataFields: { campaignId: 1 } }), 200);
  assert.ok(await waitFor(async () => (await readFile(join(dir, 'out.jsonl'), 'utf8').catch(() => '')).includes('emailOpen'), 10_000));
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
});
