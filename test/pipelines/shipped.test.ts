// The pipelines shipped in pipelines/ load with no secrets set and pass their own *.test.yaml cases.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { runTest } from '../../src/cli/test.ts';
import { runValidate } from '../../src/cli/validate.ts';
import { capture, sandbox, type Sandbox } from '../fixtures/cli-sandbox.ts';

const SHIPPED = fileURLToPath(new URL('../../pipelines/', import.meta.url));
let box: Sandbox | undefined;
afterEach(async () => {
  await box?.remove();
  box = undefined;
});

test('every shipped pipeline has a test file', async () => {
  const names = await readdir(SHIPPED);
  const pipelines = names.filter((n) => /\.ya?ml$/.test(n) && !/\.test\.ya?ml$/.test(n));
  assert.ok(pipelines.length >= 4);
  for (const p of pipelines) assert.ok(names.includes(p.replace(/\.ya?ml$/, '.test.yaml')), `${p} has no test file`);
});

test('the shipped pipelines validate', async () => {
  box = await sandbox({ pipelinesDir: SHIPPED });
  const out = capture();
  assert.equal(await runValidate({ config: box.config }, out, capture()), 0, out.text());
  assert.match(out.text(), /^ok: \d+ pipelines, \d+ sinks, 0 plugins\n$/);
});

test('the shipped pipelines pass their tests', async () => {
  box = await sandbox({ pipelinesDir: SHIPPED });
  const out = capture();
  const code = await runTest({ config: box.config, paths: [] }, out, capture());
  assert.equal(code, 0, out.text());
  assert.doesNotMatch(out.text(), /FAIL/);
  assert.match(out.text(), /\d+ passed, 0 failed\n$/);
});
