import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILT_IN_SINKS, createSinkRegistry, loadSinkTypes, sameSinkTypes } from '../../src/sinks/registry.ts';
import { checkSinkDefinition } from '../../src/sinks/plugins.ts';
import { silentLogger } from '../../src/log.ts';

test('the built-ins are http, slack, file and stdout, each a valid definition', () => {
  assert.deepEqual(
    BUILT_IN_SINKS.map((d) => d.type),
    ['http', 'slack', 'file', 'stdout'],
  );
  for (const d of BUILT_IN_SINKS) assert.equal(checkSinkDefinition(d), undefined, d.type);
});

test('loadSinkTypes: built-ins plus plugins, with origins; a clashing plugin is a problem and the built-in stays', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-registry-'));
  try {
    const plugin = (type: string) =>
      `export default { type: '${type}', description: 'x', options: { type: 'object' }, create: () => ({ async send() {}, async close() {} }) };\n`;
    await writeFile(join(dir, 'webhook.mjs'), plugin('webhook'));
    await writeFile(join(dir, 'slack.mjs'), plugin('slack'));
    const { registry, problems } = await loadSinkTypes({ pluginsDir: dir, logger: silentLogger });
    assert.deepEqual(registry.types(), ['file', 'http', 'slack', 'stdout', 'webhook']);
    assert.equal(registry.origin('http'), 'built-in');
    assert.equal(registry.origin('slack'), 'built-in');
    assert.equal(registry.origin('webhook'), join(dir, 'webhook.mjs'));
    assert.equal(registry.origin('nope'), '');
    assert.equal(registry.get('nope'), undefined);
    assert.equal(registry.get('http'), BUILT_IN_SINKS[0]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.file, join(dir, 'slack.mjs'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('no plugins folder: the built-ins alone', async () => {
  const { registry, problems } = await loadSinkTypes({
    pluginsDir: join(tmpdir(), 'hookroute-no-such-dir-xyz'),
    logger: silentLogger,
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(registry.types(), ['file', 'http', 'slack', 'stdout']);
});

test('createSinkRegistry keeps the first definition of a type', () => {
  const [http, slack] = BUILT_IN_SINKS;
  const registry = createSinkRegistry([
    { definition: http!, origin: 'built-in' },
    { definition: { ...slack!, type: 'http' }, origin: 'x.js' },
  ]);
  assert.equal(registry.get('http'), http);
  assert.equal(registry.origin('http'), 'built-in');
});

test('sameSinkTypes: an unchanged plugin folder loads the same registry; a changed plugin file does not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-registry-'));
  try {
    const file = join(dir, 'webhook.mjs');
    await writeFile(
      file,
      `export default { type: 'webhook', description: 'v1', options: { type: 'object' }, create: () => ({ async send() {}, async close() {} }) };\n`,
    );
    const first = (await loadSinkTypes({ pluginsDir: dir, logger: silentLogger })).registry;
    const again = (await loadSinkTypes({ pluginsDir: dir, logger: silentLogger })).registry;
    assert.notEqual(first, again);
    assert.equal(sameSinkTypes(first, again), true, 'the module cache hands back the same definitions');

    await writeFile(
      file,
      `export default { type: 'webhook', description: 'v2', options: { type: 'object' }, create: () => ({ async send() {}, async close() {} }) };\n`,
    );
    await utimes(file, new Date(), new Date(Date.now() + 5000)); // a new mtime makes the loader import the file afresh
    assert.equal(
      sameSinkTypes(first, (await loadSinkTypes({ pluginsDir: dir, logger: silentLogger })).registry),
      false,
    );
    const builtIns = createSinkRegistry(BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' })));
    assert.equal(sameSinkTypes(first, builtIns), false, 'a type fewer');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
