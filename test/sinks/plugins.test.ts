import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Type from 'typebox';
import { checkSinkDefinition, listPluginFiles, loadPlugins } from '../../src/sinks/plugins.ts';
import { silentLogger } from '../../src/log.ts';

const reserved = new Map([
  ['http', 'built-in'],
  ['file', 'built-in'],
]);
const GOOD = (type: string) => `export default {
  type: '${type}', description: 'test sink',
  options: { type: 'object', properties: { url: { type: 'string' } } },
  create: () => ({ async send() { return { ok: true }; }, async close() {} }),
};\n`;

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-plugins-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('good plugins load; broken ones become problems naming their file', async () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'a-good.mjs'), GOOD('good-one'));
    await writeFile(join(dir, 'b-throws.mjs'), `export default {};\nthrow new Error('boom at load');\n`);
    await writeFile(join(dir, 'c-taken.mjs'), GOOD('http'));
    await writeFile(join(dir, 'd-garbage.js'), `export default 42;\nexport const other = 'x';\n`);
    await writeFile(join(dir, 'e-nothing.mjs'), `export const unrelated = 1;\n`);
    await writeFile(join(dir, 'f-dup-of-good.mjs'), GOOD('good-one'));
    await writeFile(
      join(dir, 'g-many.mjs'),
      `const mk = (type) => ({ type, description: '', options: { type: 'object' }, create() {} });
export const sinks = [mk('multi-a'), mk('Bad Name'), mk('multi-b')];\n`,
    );
    // TypeScript syntax, no imports: a temp folder has no node_modules to resolve packages from.
    await writeFile(
      join(dir, 'h-typed.ts'),
      `interface Opts { n: number }
const options = { type: 'object', properties: { n: { type: 'number' } } } as const;
export const sink = { type: 'typed', description: 'a .ts plugin', options, create: (o: Opts) => ({ async send() {}, async close() {} }) };
export default sink;\n`,
    );
    const { sinks, problems } = await loadPlugins({ dir, reserved, logger: silentLogger });

    assert.deepEqual(
      sinks.map((s) => [s.definition.type, s.file]),
      [
        ['good-one', join(dir, 'a-good.mjs')],
        ['multi-a', join(dir, 'g-many.mjs')],
        ['multi-b', join(dir, 'g-many.mjs')],
        ['typed', join(dir, 'h-typed.ts')],
      ],
    );
    const byFile = new Map(problems.map((p) => [p.file, p]));
    assert.equal(problems.length, 6, JSON.stringify(problems, null, 1));
    const thrown = byFile.get(join(dir, 'b-throws.mjs'))!;
    assert.match(thrown.message, /failed to load: boom at load/);
    assert.equal(thrown.line, 2, 'points at the throwing line');
    assert.match(byFile.get(join(dir, 'c-taken.mjs'))!.message, /"http" is already declared by built-in/);
    assert.match(byFile.get(join(dir, 'd-garbage.js'))!.message, /`default` is not a sink definition/);
    assert.match(byFile.get(join(dir, 'e-nothing.mjs'))!.message, /exports no sink definition/);
    assert.match(
      byFile.get(join(dir, 'f-dup-of-good.mjs'))!.message,
      new RegExp(`"good-one" is already declared by .*a-good\\.mjs`),
    );
    assert.match(byFile.get(join(dir, 'g-many.mjs'))!.message, /`sinks\[1\]` type "Bad Name"/);
    for (const p of problems) assert.ok(p.line >= 1 && p.col >= 1);
  }));

test('only .js/.mjs/.ts files, sorted, no dotfiles, tests, declarations or folders; a missing folder is empty', async () =>
  withDir(async (dir) => {
    for (const name of ['b.ts', 'a.mjs', 'c.js', '.hidden.js', 'x.test.ts', 'y.d.ts', 'README.md', 'z.cjs'])
      await writeFile(join(dir, name), '');
    await mkdir(join(dir, 'sub.js'));
    assert.deepEqual(
      await listPluginFiles(dir),
      ['a.mjs', 'b.ts', 'c.js'].map((n) => join(dir, n)),
    );
    assert.deepEqual(await listPluginFiles(join(dir, 'missing')), []);
    const loaded = await loadPlugins({ dir: join(dir, 'missing'), reserved, logger: silentLogger });
    assert.deepEqual(loaded, { sinks: [], problems: [] });
  }));

test('a plugin folder that is a file is one problem', async () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'not-a-dir'), '');
    const { problems } = await loadPlugins({ dir: join(dir, 'not-a-dir'), reserved, logger: silentLogger });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.message, /cannot read the plugins folder/);
  }));

test('a changed plugin file is loaded afresh (reload)', async () =>
  withDir(async (dir) => {
    const file = join(dir, 'p.mjs');
    await writeFile(file, GOOD('first'));
    await utimes(file, new Date(1_000_000), new Date(1_000_000));
    assert.deepEqual(
      (await loadPlugins({ dir, reserved, logger: silentLogger })).sinks.map((s) => s.definition.type),
      ['first'],
    );
    await writeFile(file, GOOD('second'));
    await utimes(file, new Date(2_000_000), new Date(2_000_000));
    assert.deepEqual(
      (await loadPlugins({ dir, reserved, logger: silentLogger })).sinks.map((s) => s.definition.type),
      ['second'],
    );
  }));

test('checkSinkDefinition explains what is wrong', () => {
  const good = { type: 'ok-sink', description: 'd', options: Type.Object({}), create: () => ({}) };
  assert.equal(checkSinkDefinition(good), undefined);
  assert.match(checkSinkDefinition(null)!, /not a sink definition/);
  assert.match(checkSinkDefinition({ ...good, type: 'UPPER' })!, /lowercase/);
  assert.match(checkSinkDefinition({ ...good, description: 1 })!, /description/);
  // The contract names type, options schema and factory; a description is optional.
  const { description: _omitted, ...minimal } = good;
  assert.equal(checkSinkDefinition(minimal), undefined);
  assert.match(checkSinkDefinition({ ...good, create: 'no' })!, /create must be a function/);
  assert.match(checkSinkDefinition({ ...good, options: 'string' })!, /options must be/);
  assert.match(checkSinkDefinition({ ...good, defaults: { rate: 'fast' } })!, /defaults.rate/);
  assert.match(checkSinkDefinition({ ...good, defaults: { concurrency: 0 } })!, /defaults.concurrency/);
});
