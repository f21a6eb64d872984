// `npm run build:sea`: the single executable starts without node or tsx, loads the native uWS binary shipped
// beside it and accepts an event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, post, tempDir, waitFor } from './integration/harness.ts';

test('the single executable starts and accepts an event', async (t) => {
  const { dir, cleanup } = await tempDir('hookroute-sea-');
  t.after(cleanup);
  const out = join(dir, 'dist-sea');
  const build = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'build-sea.ts'), '--out', out], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 });
  assert.equal(build.status, 0, build.stderr);

  await mkdir(join(dir, 'pipelines'));
  await writeFile(join(dir, 'pipelines', 'out.yaml'), stringify({ sinks: [{ type: 'file', path: './out.jsonl' }] }));
  await writeFile(join(dir, 'config.yaml'), stringify({ server: { host: '127.0.0.1', port: 0 }, admin: { port: 0 } }));
  const exe = join(out, process.platform === 'win32' ? 'hookroute.exe' : 'hookroute');

  // A .mjs plugin still loads with import() from plugins.dir inside the executable.
  await mkdir(join(dir, 'plugins'));
  await writeFile(join(dir, 'plugins', 'noop.mjs'), "export default { type: 'noop', description: 'drops events', options: { type: 'object' }, create: () => ({ send: async () => ({ kind: 'ok' }) }) };\n");
  await writeFile(join(dir, 'pipelines', 'noop.yaml'), stringify({ sinks: [{ type: 'noop' }] }));
  const validate = spawnSync(exe, ['validate', '-c', join(dir, 'config.yaml')], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(validate.status, 0, validate.stdout + validate.stderr);
  assert.match(validate.stdout, /1 plugins/);

  const child = spawn(exe, ['start', '-c', join(dir, 'config.yaml')], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  t.after(() => child.kill('SIGKILL'));
  let logs = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (logs += c));
  assert.ok(await waitFor(() => logs.includes('hookroute started'), 20_000), logs);
  assert.match(logs, /"native":true/, 'the native uWebSockets.js binary shipped beside the executable is used');
  const port = Number(/"port":(\d+),"adminPort"/.exec(logs)?.[1]);
  assert.equal(await post(`http://127.0.0.1:${port}/webhook`, { eventName: 'emailOpen', email: 'u@x.com' }), 200);
  assert.ok(await waitFor(async () => (await readFile(join(dir, 'out.jsonl'), 'utf8').catch(() => '')).includes('emailOpen'), 10_000));
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
});
