// The two builds run without tsx: `npm run build` (one-file bundle for plain node) and `npm run build:sea` (a Node single
// executable). Each is built into a temp folder, started, and must load the native uWS binary shipped beside it and accept an event.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, post, tempDir, waitFor } from './integration/harness.ts';

const plainEnv = { ...process.env, NODE_OPTIONS: '' };

/** Build with `script --out <dir>/<outName>`, then write a config and a file-sink pipeline beside it. */
async function buildInto(
  t: TestContext,
  script: string,
  outName: string,
): Promise<{ dir: string; out: string; config: string }> {
  const { dir, cleanup } = await tempDir(`hookroute-${outName}-`);
  t.after(cleanup);
  const out = join(dir, outName);
  const build = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', script), '--out', out], {
    encoding: 'utf8',
    cwd: ROOT,
    timeout: 120_000,
  });
  assert.equal(build.status, 0, build.stderr);
  await mkdir(join(dir, 'pipelines'));
  await writeFile(join(dir, 'pipelines', 'out.yaml'), stringify({ sinks: [{ type: 'file', path: './out.jsonl' }] }));
  const config = join(dir, 'config.yaml');
  await writeFile(config, stringify({ server: { host: '127.0.0.1', port: 0 }, admin: { port: 0 } }));
  return { dir, out, config };
}

/** Start `command args... start -c config`, check the native binary, post one event, see it in the file sink, SIGTERM → exit 0. */
async function startAndAccept(
  t: TestContext,
  dir: string,
  command: string,
  args: string[],
  config: string,
): Promise<void> {
  const child = spawn(command, [...args, 'start', '-c', config], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: plainEnv,
  });
  t.after(() => child.kill('SIGKILL'));
  let logs = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (logs += c));
  assert.ok(await waitFor(() => logs.includes('hookroute started'), 20_000), logs);
  assert.match(logs, /"native":true/, 'the native uWebSockets.js binary shipped beside the build is used');
  const port = Number(/"port":(\d+),"adminPort"/.exec(logs)?.[1]);
  assert.equal(
    await post(`http://127.0.0.1:${port}/webhook`, {
      email: 'u@x.com',
      eventName: 'emailOpen',
      dataFields: { campaignId: 1 },
    }),
    200,
  );
  assert.ok(
    await waitFor(
      async () => (await readFile(join(dir, 'out.jsonl'), 'utf8').catch(() => '')).includes('emailOpen'),
      10_000,
    ),
  );
  child.kill('SIGTERM');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
}

test('the bundled build starts with plain node and accepts an event', async (t) => {
  const { dir, out, config } = await buildInto(t, 'build.ts', 'dist');
  await startAndAccept(t, dir, process.execPath, [join(out, 'hookroute.js')], config);
});

test('the single executable starts, loads a .mjs plugin and accepts an event', async (t) => {
  const { dir, out, config } = await buildInto(t, 'build-sea.ts', 'dist-sea');
  const exe = join(out, process.platform === 'win32' ? 'hookroute.exe' : 'hookroute');
  // A .mjs plugin still loads with import() from plugins.dir inside the executable.
  await mkdir(join(dir, 'plugins'));
  await writeFile(
    join(dir, 'plugins', 'noop.mjs'),
    "export default { type: 'noop', description: 'drops events', options: { type: 'object' }, create: () => ({ send: async () => ({ ok: true }) }) };\n",
  );
  await writeFile(join(dir, 'pipelines', 'noop.yaml'), stringify({ sinks: [{ type: 'noop' }] }));
  const validate = spawnSync(exe, ['validate', '-c', config], { cwd: dir, encoding: 'utf8', env: plainEnv });
  assert.equal(validate.status, 0, validate.stdout + validate.stderr);
  assert.match(validate.stdout, /1 plugins/);
  await startAndAccept(t, dir, exe, [], config);
});
