import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { watchPipelines } from '../../src/pipelines/watch.ts';

const DEBOUNCE = 50;
let dir: string;
let calls = 0;
let watcher: ReturnType<typeof watchPipelines>;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hookroute-watch-'));
  await writeFile(join(dir, 'a.yaml'), 'sinks: [{type: stdout}]\n');
  watcher = watchPipelines(dir, DEBOUNCE, () => calls++);
  await watcher.ready;
});
after(async () => {
  await watcher.close();
  await rm(dir, { recursive: true, force: true });
});

/** Wait until onChange has run `n` times in all (bounded), then a few debounce periods more so extra calls would show. */
async function settle(n: number): Promise<void> {
  for (let i = 0; i < 200 && calls < n; i++) await sleep(25);
  await sleep(DEBOUNCE * 4);
}

test('a burst of writes to a pipeline file gives one onChange', async () => {
  const before = calls;
  // Synchronous writes: the burst must fit inside one debounce period even on a loaded machine.
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, 'a.yaml'), `# ${i}\nsinks: [{type: stdout}]\n`);
  await settle(before + 1);
  assert.equal(calls, before + 1);
});

test('files that are not pipelines do not trigger', async () => {
  const before = calls;
  await writeFile(join(dir, 'notes.txt'), 'x');
  await writeFile(join(dir, '.hidden.yaml'), 'x');
  await writeFile(join(dir, 'a.test.yaml'), 'tests: []');
  await sleep(DEBOUNCE * 6);
  assert.equal(calls, before);
});

test('an atomic save (write a temp file, rename it over the original) triggers', async () => {
  const before = calls;
  await writeFile(join(dir, '.a.yaml.tmp'), '# saved\nsinks: [{type: stdout}]\n');
  await rename(join(dir, '.a.yaml.tmp'), join(dir, 'a.yaml'));
  await settle(before + 1);
  assert.equal(calls, before + 1);
});

test('adding and removing pipeline files trigger', async () => {
  let before = calls;
  await writeFile(join(dir, 'b.yml'), 'sinks: [{type: stdout}]\n');
  await settle(before + 1);
  assert.equal(calls, before + 1);
  before = calls;
  await unlink(join(dir, 'b.yml'));
  await settle(before + 1);
  assert.equal(calls, before + 1);
});
