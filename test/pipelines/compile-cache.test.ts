import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CompileCache } from '../../src/pipelines/compile-cache.ts';
import { loadPipelines, type LoadOptions } from '../../src/pipelines/load.ts';
import { fakeSinkTypes } from '../fixtures/fake-sinks.ts';
import { caseFolders } from '../fixtures/case-folders.ts';

const folder = caseFolders('hookroute-cache-');

const sinkTypes = fakeSinkTypes();
const pipeline = (i: number, extra = '') =>
  `name: p${i}\nmatch: { events: [emailSend] }\ntransform: '{ "n": ${i} }'\n${extra}sinks: [{type: stdout}]\n`;
const many = (count: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [`p${i}.yaml`, pipeline(i)]));
const load = (dir: string, cache: CompileCache, extra: Partial<LoadOptions> = {}) =>
  loadPipelines({ dir, baseDir: '/', sinkTypes, env: {}, evalTimeoutMs: 100, cache, ...extra });

test('changing one of N files recompiles only that file; the others keep their very lane specs', async () => {
  const dir = await folder(many(20));
  const cache = new CompileCache();
  const first = await load(dir, cache);
  assert.equal(first.compiled.length, 20);

  const same = await load(dir, cache, { previous: first.table });
  assert.deepEqual(same.compiled, [], 'an unchanged folder compiles nothing');
  assert.equal(same.table.pipelines.length, 20);
  for (const [key, spec] of same.table.lanes)
    assert.equal(spec, first.table.lanes.get(key), `${key} keeps its spec object`);

  await writeFile(join(dir, 'p7.yaml'), pipeline(7, 'description: edited\n'));
  const second = await load(dir, cache, { previous: same.table });
  assert.deepEqual(second.compiled, [join(dir, 'p7.yaml')]);
  assert.equal(second.table.pipelines.find((p) => p.name === 'p7')?.description, 'edited');
  for (const [key, spec] of second.table.lanes)
    if (key !== 'p7/stdout') assert.equal(spec, first.table.lanes.get(key), `${key} untouched`);
});

test('a changed value of a referenced environment variable recompiles the file that uses it', async () => {
  const dir = await folder({ 'a.yaml': pipeline(1, 'description: ${WHO}\n'), 'b.yaml': pipeline(2) });
  const cache = new CompileCache();
  const first = await load(dir, cache, { env: { WHO: 'one' } });
  const unrelated = await load(dir, cache, { env: { WHO: 'one', OTHER: 'x' }, previous: first.table });
  assert.deepEqual(unrelated.compiled, [], 'variables the files do not use do not matter');
  const changed = await load(dir, cache, { env: { WHO: 'two' }, previous: unrelated.table });
  assert.deepEqual(changed.compiled, [join(dir, 'a.yaml')]);
  assert.equal(changed.table.pipelines.find((p) => p.name === 'p1')?.description, 'two');
});

test('a changed ${file:PATH} file recompiles the file that references it', async () => {
  const dir = await folder({ 'a.yaml': pipeline(1, 'description: ${file:who.txt}\n'), 'b.yaml': pipeline(2) });
  await writeFile(join(dir, 'who.txt'), 'one\n');
  const cache = new CompileCache();
  const first = await load(dir, cache, { baseDir: dir });
  assert.equal(first.table.pipelines.find((p) => p.name === 'p1')?.description, 'one');
  const same = await load(dir, cache, { baseDir: dir, previous: first.table });
  assert.deepEqual(same.compiled, []);
  await writeFile(join(dir, 'who.txt'), 'two\n');
  const changed = await load(dir, cache, { baseDir: dir, previous: same.table });
  assert.deepEqual(changed.compiled, [join(dir, 'a.yaml')]);
  assert.equal(changed.table.pipelines.find((p) => p.name === 'p1')?.description, 'two');
});

test('another sink registry or time box recompiles every file', async () => {
  const dir = await folder(many(3));
  const cache = new CompileCache();
  await load(dir, cache);
  assert.equal((await load(dir, cache, { sinkTypes: fakeSinkTypes() })).compiled.length, 3);
  assert.equal((await load(dir, cache, { sinkTypes: fakeSinkTypes() })).compiled.length, 3);
  const types = fakeSinkTypes();
  await load(dir, cache, { sinkTypes: types });
  assert.equal((await load(dir, cache, { sinkTypes: types })).compiled.length, 0);
  assert.equal((await load(dir, cache, { sinkTypes: types, evalTimeoutMs: 50 })).compiled.length, 3);
});

test('an unchanged broken file still reports its problem and keeps its previous version', async () => {
  const dir = await folder({ 'a.yaml': pipeline(1) });
  const cache = new CompileCache();
  const first = await load(dir, cache);
  await writeFile(join(dir, 'a.yaml'), 'name: p1\nsinks: [{type: nope}]\n');
  const broken = await load(dir, cache, { previous: first.table });
  const again = await load(dir, cache, { previous: broken.table });
  assert.deepEqual(again.compiled, []);
  assert.deepEqual(again.problems, broken.problems);
  assert.equal(again.problems.length, 1);
  assert.deepEqual(
    again.table.pipelines.map((p) => p.name),
    ['p1'],
    'the previous version keeps running',
  );
});

test('a removed file is forgotten: put back, it compiles again', async () => {
  const dir = await folder(many(2));
  const cache = new CompileCache();
  const first = await load(dir, cache);
  await unlink(join(dir, 'p1.yaml'));
  const removed = await load(dir, cache, { previous: first.table });
  assert.deepEqual(
    removed.table.pipelines.map((p) => p.name),
    ['p0'],
  );
  await writeFile(join(dir, 'p1.yaml'), pipeline(1));
  assert.deepEqual((await load(dir, cache, { previous: removed.table })).compiled, [join(dir, 'p1.yaml')]);
});
