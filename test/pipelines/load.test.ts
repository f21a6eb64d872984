import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatProblem } from '../../src/schema-kit/yaml-source.ts';
import { loadPipelines, type LoadOptions } from '../../src/pipelines/load.ts';
import type { EventRecord } from '../../src/events/record.ts';
import { fakeSinkTypes } from '../fixtures/fake-sinks.ts';
import { caseFolders } from '../fixtures/case-folders.ts';

const folder = caseFolders('hookroute-load-');

const load = (dir: string, extra: Partial<LoadOptions> = {}) =>
  loadPipelines({ dir, baseDir: '/', sinkTypes: fakeSinkTypes(), env: {}, evalTimeoutMs: 100, ...extra });

const event = (body: Record<string, unknown>): EventRecord => ({
  id: 1,
  receivedAt: 0,
  eventName: String(body.eventName),
  raw: Buffer.alloc(0),
  body,
});

const ok = 'sinks: [{type: stdout}]\n';

// file text → the one problem expected, as `line:col: message` (message checked by prefix).
const broken: [string, string, string][] = [
  ['yaml syntax', 'name: x\nsinks: [\n', '3:1: Flow sequence in block collection'],
  ['not a mapping', '- a\n- b\n', '1:1: a pipeline file must be a mapping'],
  ['empty file', '', '1:1: a pipeline file must be a mapping'],
  ['unknown key', `nmae: x\n${ok}`, '1:1: nmae: unknown key (known: name, description'],
  ['wrong type', `enabled: maybe\n${ok}`, '1:10: enabled: must be boolean'],
  ['no sinks', 'description: hi\n', '1:1: sinks: is required'],
  ['empty sinks', 'sinks: []\n', '1:8: sinks: must not have fewer than 1 items'],
  [
    'unknown sink type',
    'sinks:\n  - type: kafka\n',
    '2:11: sinks[0].type: unknown sink type "kafka" (known: file, http, slack, stdout)',
  ],
  [
    'bad sink option',
    'sinks:\n  - type: http\n    url: ftp://x\n',
    '3:10: sinks[0].url: "ftp://x" is not in the expected form (pattern ^https?://)',
  ],
  [
    'unknown sink option',
    'sinks:\n  - type: http\n    url: https://x\n    timeoutt: 5\n',
    '4:5: sinks[0].timeoutt: unknown key (known: url, method)',
  ],
  [
    'bad duration',
    'sinks:\n  - type: stdout\n    retry: { initialDelay: soon }\n',
    '3:28: sinks[0].retry.initialDelay: must be a duration',
  ],
  [
    'bad rate',
    'sinks:\n  - type: stdout\n    queue: { rate: fast }\n',
    '3:20: sinks[0].queue.rate: "fast" is not in the expected form (e.g. 1/s)',
  ],
  ['jsonata, plain', `transform: a + (\n${ok}`, '1:16: transform: JSONata S0203 Expected ")" before end of expression'],
  ['jsonata, quoted', `match:\n  when: "a = ) "\n${ok}`, '2:14: match.when: JSONata S0211'],
  ['jsonata, block', `transform: |\n  {\n    "a": $foo(\n  }\n${ok}`, '4:3: transform: JSONata S0211 The symbol "}"'],
  [
    'jsonata, sink',
    'sinks:\n  - type: stdout\n    transform: "{ \\"a\\":: 1 }"\n',
    '3:16: sinks[0].transform: JSONata S0211',
  ],
  [
    'bad glob',
    `match:\n  events: [emailOpen, "email[A-Z]"]\n${ok}`,
    '2:23: match.events[1]: "email[A-Z]" is not an event name or glob',
  ],
  [
    'missing env var',
    'sinks:\n  - type: http\n    url: ${HOOK_URL}\n',
    '3:10: sinks[0].url: environment variable HOOK_URL is not set',
  ],
  [
    'missing secret file',
    'sinks:\n  - type: http\n    url: ${file:/nonexistent/hook-url}\n',
    '3:10: sinks[0].url: ${file:/nonexistent/hook-url}: cannot read /nonexistent/hook-url: no such file',
  ],
  [
    'duplicate sink id',
    'sinks:\n  - type: stdout\n  - type: stdout\n    name: stdout\n',
    '4:11: sinks[1].name: duplicate sink id "stdout"',
  ],
  ['bad name', `name: "no spaces"\n${ok}`, '1:7: name: "no spaces" is not in the expected form'],
  [
    'option for a sink that takes none',
    'sinks:\n  - type: stdout\n    color: red\n',
    '3:5: sinks[0].color: unknown key (this takes no options)',
  ],
  [
    'catastrophic regex',
    `transform: $contains(email, /^(a+)+$/)\n${ok}`,
    '1:38: transform: regex /^(a+)+$/ can backtrack catastrophically',
  ],
  [
    'batch on a sink type that cannot batch',
    'sinks:\n  - type: stdout\n    batch: { maxEvents: 10 }\n',
    '3:5: sinks[0].batch: sink type "stdout" cannot send batches: remove `batch:`',
  ],
  [
    'bad batch limit',
    'sinks:\n  - type: stdout\n    batch: { maxEvents: 0 }\n',
    '3:25: sinks[0].batch.maxEvents: must be >= 1',
  ],
  ['prototype-named key', `constructor: 1\n${ok}`, '1:1: constructor: unknown key (known: name'],
  ['prototype-named sink option', 'sinks:\n  - type: stdout\n    toString: 2\n', '3:5: sinks[0].toString: unknown key'],
];

for (const [title, text, expected] of broken) {
  test(`broken file: ${title}`, async () => {
    const dir = await folder({ 'p.yaml': text });
    const { problems, files, table } = await load(dir);
    assert.equal(problems.length, 1, problems.map(formatProblem).join('\n'));
    const p = problems[0]!;
    assert.ok(p.file.endsWith('p.yaml'));
    const got = `${p.line}:${p.col}: ${p.message}`;
    assert.ok(got.startsWith(expected), `got      ${got}\nexpected ${expected}…`);
    assert.deepStrictEqual(
      files.map((f) => f.ok),
      [false],
    );
    assert.equal(table.pipelines.length, 0);
  });
}

test('a file name that is not a valid pipeline name needs a name key', async () => {
  const dir = await folder({ 'my pipeline.yaml': ok, 'fine name.yml': `name: fine\n${ok}` });
  const { problems, table } = await load(dir);
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /pipeline name "my pipeline" \(from the file name\)/);
  assert.deepStrictEqual(
    table.pipelines.map((p) => p.name),
    ['fine'],
  );
});

test('duplicate pipeline names: the later file (in name order) is refused', async () => {
  const dir = await folder({ 'a.yaml': `name: same\n${ok}`, 'b.yaml': `name: same\n${ok}`, 'c.yaml': ok });
  const { problems, table, files } = await load(dir);
  assert.equal(problems.length, 1);
  assert.ok(problems[0]!.file.endsWith('b.yaml'));
  assert.match(problems[0]!.message, /duplicate pipeline name "same" \(also in .*a\.yaml\)/);
  assert.deepStrictEqual(
    table.pipelines.map((p) => p.name),
    ['same', 'c'],
  );
  assert.deepStrictEqual(
    files.map((f) => f.ok),
    [true, false, true],
  );
});

test('only *.yaml / *.yml at the top level; dotfiles, tests and other files are skipped', async () => {
  const dir = await folder({
    'a.yaml': ok,
    'b.yml': ok,
    '.hidden.yaml': 'broken: [',
    'a.test.yaml': 'tests: []',
    'notes.txt': 'x',
    'c.YAML': ok,
  });
  await mkdir(join(dir, 'tests'));
  await writeFile(join(dir, 'tests', 'nested.yaml'), 'broken: [');
  const { problems, table } = await load(dir);
  assert.deepStrictEqual(problems, []);
  assert.deepStrictEqual(
    table.pipelines.map((p) => p.name),
    ['a', 'b', 'c'],
  );
});

test('a missing folder is one problem, not an exception', async () => {
  const { problems, table } = await load(join(await folder({}), 'does-not-exist'));
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /cannot read the pipelines folder: ENOENT/);
  assert.equal(table.pipelines.length, 0);
});

test('lanes: ids, normalised policies, sink-type defaults, fingerprints', async () => {
  const text = [
    'name: fwd',
    'sinks:',
    '  - type: http',
    '    url: https://a.example',
    '    retry: { attempts: 3, initialDelay: 1s, maxDelay: 2m }',
    '    queue: { concurrency: 2, rate: 5/10s }',
    '  - type: http',
    '    name: short',
    '    url: https://c.example',
    '    retry: { maxDelay: 200ms }',
    '  - type: http',
    '    url: https://b.example',
    '  - type: slack',
    '    name: alerts',
    '    webhookUrl: ${HOOK:-https://hooks.example/x}',
    '    breaker: { threshold: 2, cooldown: 1m }',
    '',
  ].join('\n');
  const dir = await folder({ 'fwd.yaml': text });
  const { problems, table } = await load(dir);
  assert.deepStrictEqual(problems, []);
  assert.deepStrictEqual([...table.lanes.keys()], ['fwd/http', 'fwd/short', 'fwd/http-2', 'fwd/alerts']);
  const [a, short, b, slack] = [...table.lanes.values()];
  assert.deepStrictEqual(
    short!.breaker,
    { threshold: 10, cooldownMs: 200 },
    'the breaker pause is capped by retry.maxDelay',
  );
  assert.deepStrictEqual(a!.options, { url: 'https://a.example', method: 'POST' });
  assert.deepStrictEqual(a!.retry, { attempts: 3, initialDelayMs: 1000, maxDelayMs: 120_000 });
  assert.deepStrictEqual(a!.queue, { concurrency: 2, rate: { count: 5, intervalMs: 10_000 }, capacity: 1000 });
  assert.deepStrictEqual(b!.retry, { attempts: 8, initialDelayMs: 500, maxDelayMs: 300_000 });
  assert.deepStrictEqual(b!.breaker, { threshold: 10, cooldownMs: 10_000 });
  assert.deepStrictEqual(a!.breaker, { threshold: 10, cooldownMs: 10_000 });
  assert.deepStrictEqual(
    slack!.queue,
    { concurrency: 1, rate: { count: 1, intervalMs: 1000 }, capacity: 1000 },
    'slack type defaults',
  );
  assert.deepStrictEqual(slack!.options, { webhookUrl: 'https://hooks.example/x' });
  assert.deepStrictEqual(slack!.breaker, { threshold: 2, cooldownMs: 60_000 });
  assert.deepStrictEqual(slack!.source, { file: join(dir, 'fwd.yaml'), line: 13 });
  assert.notEqual(a!.fingerprint, b!.fingerprint);

  const again = await load(dir);
  assert.equal(again.table.lanes.get('fwd/http')!.fingerprint, a!.fingerprint, 'stable across loads');
  await writeFile(join(dir, 'fwd.yaml'), text.replace('attempts: 3', 'attempts: 4'));
  const changed = await load(dir);
  assert.notEqual(changed.table.lanes.get('fwd/http')!.fingerprint, a!.fingerprint);
  assert.equal(changed.table.lanes.get('fwd/http-2')!.fingerprint, b!.fingerprint);
});

test('${VAR} works inside JSONata, and $$ stays the JSONata root', async () => {
  const text = 'transform: \'{ "env": "${STAGE}", "n": $$.eventName, "cost": "$$$$5" }\'\nsinks: [{type: stdout}]\n';
  const dir = await folder({ 'p.yaml': text });
  const { problems, table } = await load(dir, { env: { STAGE: 'prod' } });
  assert.deepStrictEqual(problems, []);
  assert.deepStrictEqual(await table.payload('p/stdout', event({ eventName: 'emailOpen' })), {
    env: 'prod',
    n: 'emailOpen',
    cost: '$$$$5',
  });
});

test('with a previous table: a broken file keeps its previous version, a deleted file drops its pipeline', async () => {
  const dir = await folder({
    'a.yaml': `match: { events: [emailOpen] }\n${ok}`,
    'b.yaml': `name: bee\nmatch: { events: [emailClick] }\n${ok}`,
    'c.yaml': ok,
  });
  const first = await load(dir);
  assert.equal(first.table.version, 1);
  await writeFile(join(dir, 'b.yaml'), 'name: bee\nmatch: { events: [emailClick }\n');
  await unlink(join(dir, 'c.yaml'));
  await writeFile(join(dir, 'a.yaml'), `match: { events: [emailBounce] }\n${ok}`);
  const second = await load(dir, { previous: first.table });
  assert.equal(second.table.version, 2);
  assert.ok(second.problems.length > 0);
  assert.ok(second.problems.every((p) => p.file.endsWith('b.yaml')));
  assert.deepStrictEqual(
    second.files.map((f) => [f.pipeline, f.ok]),
    [
      ['a', true],
      ['bee', false],
    ],
  );
  assert.deepStrictEqual(
    second.table.pipelines.map((p) => p.name),
    ['a', 'bee'],
  );
  assert.deepStrictEqual(
    (await second.table.route(event({ eventName: 'emailClick' }))).lanes,
    ['bee/stdout'],
    'old b still routes',
  );
  assert.deepStrictEqual(
    (await second.table.route(event({ eventName: 'emailBounce' }))).lanes,
    ['a/stdout'],
    'new a routes',
  );
  assert.equal((await second.table.route(event({ eventName: 'emailOpen' }))).unmatched, true, 'old a is gone');

  await writeFile(join(dir, 'b.yaml'), 'also: broken\n');
  const third = await load(dir, { previous: second.table, version: 10 });
  assert.equal(third.table.version, 10);
  assert.deepStrictEqual(
    third.table.pipelines.map((p) => p.name),
    ['a', 'bee'],
    'kept through a second broken reload',
  );
});

test('disabled pipelines are checked but own no lanes', async () => {
  const dir = await folder({
    'off.yaml': `enabled: false\n${ok}`,
    'broken-off.yaml': 'enabled: false\nsinks: [{type: nope}]\n',
  });
  const { problems, table } = await load(dir);
  assert.equal(problems.length, 1);
  assert.deepStrictEqual(
    table.pipelines.map((p) => [p.name, p.enabled, p.lanes]),
    [['off', false, ['off/stdout']]],
  );
  assert.equal(table.lanes.size, 0);
});

test("a new file that takes a running pipeline's name is the one refused; the running pipeline keeps its routes", async () => {
  const dir = await folder({ 'fail2.yaml': 'sinks: [{type: http, url: "https://a.example"}]\n' });
  const first = await load(dir);
  assert.deepStrictEqual(first.problems, []);
  await writeFile(join(dir, 'dupe.yaml'), `name: fail2\n${ok}`); // sorts before fail2.yaml
  const second = await load(dir, { previous: first.table });
  assert.equal(second.problems.length, 1);
  assert.match(second.problems[0]!.file, /dupe\.yaml$/);
  assert.match(second.problems[0]!.message, /duplicate pipeline name "fail2" \(also in .*fail2\.yaml\)/);
  assert.deepStrictEqual([...second.table.lanes.keys()], ['fail2/http']);
  assert.deepStrictEqual(
    second.files.map((f) => [f.file.endsWith('dupe.yaml'), f.ok]),
    [
      [true, false],
      [false, true],
    ],
  );
});
