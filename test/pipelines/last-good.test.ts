// A pipeline file broken at start runs its last good version (kept under storage.dir); offline loads never do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LastGoodVersions } from '../../src/pipelines/last-good.ts';
import { loadPipelines, type LoadOptions } from '../../src/pipelines/load.ts';
import { formatProblem } from '../../src/schema-kit/yaml-source.ts';
import { fakeSinkTypes } from '../fixtures/fake-sinks.ts';
import { caseFolders } from '../fixtures/case-folders.ts';

const folder = caseFolders('hookroute-lastgood-');

const load = (dir: string, extra: Partial<LoadOptions> = {}) =>
  loadPipelines({ dir, baseDir: '/', sinkTypes: fakeSinkTypes(), env: {}, evalTimeoutMs: 100, ...extra });

const good = 'name: alerts\nmatch: { events: [emailBounce] }\nsinks: [{type: stdout}]\n';

test('a file that compiled is saved; broken at the next start, its saved version runs and the problem says so', async () => {
  const dir = await folder({});
  const store = join(dir, '.store');
  await writeFile(join(dir, 'alerts.yaml'), good);
  const first = await load(dir, { lastGood: new LastGoodVersions(store) });
  assert.deepEqual(first.problems, []);
  assert.equal((await readdir(store)).length, 1);

  await writeFile(join(dir, 'alerts.yaml'), 'name: alerts\nsinks: [{type: stdout}\n'); // typo: unclosed flow sequence
  const restart = await load(dir, { lastGood: new LastGoodVersions(store) }); // a fresh start: no previous table
  assert.deepEqual(
    restart.table.pipelines.map((p) => [p.name, p.events]),
    [['alerts', ['emailBounce']]],
  );
  assert.deepEqual(restart.files, [{ file: join(dir, 'alerts.yaml'), pipeline: 'alerts', ok: false, lastGood: true }]);
  const text = restart.problems.map(formatProblem);
  assert.equal(text.length, 2, text.join('\n'));
  assert.match(
    text[1]!,
    /alerts\.yaml:1:1: running its last good version \(saved \d{4}-\d\d-\d\dT.*\) until this file is fixed/,
  );

  const offline = await load(dir); // what `validate` and `hookroute test` do
  assert.equal(offline.table.pipelines.length, 0);
  assert.equal(offline.problems.length, 1, 'validate still fails on the broken file');
});

test('a broken version is never saved over the good one, and a fixed file replaces it', async () => {
  const dir = await folder({});
  const store = join(dir, '.store');
  const lastGood = new LastGoodVersions(store);
  await writeFile(join(dir, 'a.yaml'), good);
  await load(dir, { lastGood });
  await writeFile(join(dir, 'a.yaml'), 'sinks: nope\n');
  await load(dir, { lastGood });
  assert.equal(lastGood.read(join(dir, 'a.yaml'))?.text, good);
  const fixed = good.replace('emailBounce', 'emailComplaint');
  await writeFile(join(dir, 'a.yaml'), fixed);
  await load(dir, { lastGood });
  assert.equal(new LastGoodVersions(store).read(join(dir, 'a.yaml'))?.text, fixed, 'read back from disk');
});

test('a deleted file does not come back: its saved version is dropped', async () => {
  const dir = await folder({});
  const store = join(dir, '.store');
  await writeFile(join(dir, 'a.yaml'), good);
  await writeFile(join(dir, 'b.yaml'), good.replace('alerts', 'other'));
  await load(dir, { lastGood: new LastGoodVersions(store) });
  assert.equal((await readdir(store)).length, 2);
  await rm(join(dir, 'a.yaml'));
  const after = await load(dir, { lastGood: new LastGoodVersions(store) });
  assert.deepEqual(
    after.table.pipelines.map((p) => p.name),
    ['other'],
  );
  assert.equal((await readdir(store)).length, 1);
  await writeFile(join(dir, 'a.yaml'), 'sinks: [\n');
  const readded = await load(dir, { lastGood: new LastGoodVersions(store) });
  assert.deepEqual(
    readded.table.pipelines.map((p) => p.name),
    ['other'],
    'the old version of a deleted file is not resurrected',
  );
});

test('a saved version that no longer compiles (its sink type is gone) is not run', async () => {
  const dir = await folder({});
  const store = join(dir, '.store');
  await writeFile(join(dir, 'a.yaml'), 'sinks: [{type: stdout}]\n');
  await load(dir, { lastGood: new LastGoodVersions(store) });
  await writeFile(join(dir, 'a.yaml'), 'sinks: [\n');
  const noStdout = { get: (t: string) => (t === 'stdout' ? undefined : fakeSinkTypes().get(t)), types: () => ['http'] };
  const r = await load(dir, { lastGood: new LastGoodVersions(store), sinkTypes: noStdout });
  assert.equal(r.table.pipelines.length, 0);
  assert.equal(r.files[0]?.lastGood, undefined);
});
