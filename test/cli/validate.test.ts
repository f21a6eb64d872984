import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { runValidate } from '../../src/cli/validate.ts';
import { capture, sandbox, type Sandbox } from '../fixtures/cli-sandbox.ts';

let box: Sandbox | undefined;
afterEach(async () => {
  await box?.remove();
  box = undefined;
});

test('a valid set: exit 0 and a one-line summary', async () => {
  box = await sandbox();
  await box.write({
    'a.yaml': 'sinks: [{type: stdout}]\n',
    'b.yaml': 'enabled: false\nsinks:\n  - type: http\n    url: https://example.com/x\n  - type: stdout\n',
    'b.test.yaml': 'this is not: [a pipeline',
  });
  const out = capture();
  const err = capture();
  assert.equal(await runValidate({ config: box.config }, out, err), 0);
  assert.equal(out.text(), 'ok: 2 pipelines, 3 sinks, 0 plugins\n');
  assert.equal(err.text(), '');
});

test('broken pipelines: exit 1 and file:line:col: message per problem', async () => {
  box = await sandbox();
  await box.write({
    'a.yaml': 'transform: a + (\nsinks: [{type: stdout}]\n',
    'b.yaml': 'sinks:\n  - type: kafka\n',
  });
  const out = capture();
  assert.equal(await runValidate({ config: box.config }, out, capture()), 1);
  const lines = out.text().trim().split('\n');
  assert.match(lines[0]!, /a\.yaml:1:16: transform: JSONata S0203 /);
  assert.match(lines[1]!, /b\.yaml:2:11: sinks\[0\]\.type: unknown sink type "kafka"/);
  assert.equal(lines[2], '2 problems found');
});

test('a broken config: exit 1 with the config file position', async () => {
  box = await sandbox({ configExtra: 'sever: { port: 1 }\n' });
  const out = capture();
  assert.equal(await runValidate({ config: box.config }, out, capture()), 1);
  assert.match(out.text(), /config\.yaml:3:1: sever/);
});

test('a config file that does not exist: exit 1', async () => {
  box = await sandbox();
  const out = capture();
  const err = capture();
  assert.equal(await runValidate({ config: `${box.root}/nope.yaml` }, out, err), 1);
  assert.match(out.text() + err.text(), /nope\.yaml/);
});
