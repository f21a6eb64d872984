import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runTest } from '../../src/cli/test.ts';
import { capture, sandbox, type Sandbox } from '../fixtures/cli-sandbox.ts';

let box: Sandbox | undefined;
afterEach(async () => {
  await box?.remove();
  box = undefined;
});

const PIPELINES = {
  'shout.yaml':
    'match: { events: [emailOpen] }\ntransform: \'{ "who": $uppercase(email) }\'\nsinks: [{type: stdout}, {type: stdout, name: raw, transform: $}]\n',
  'quiet.yaml': 'enabled: false\nmatch: { when: dataFields.vip = true }\nsinks: [{type: stdout}]\n',
};

async function run(tests: Record<string, string>, paths: (b: Sandbox) => string[] = () => []) {
  box = await sandbox();
  await box.write({ ...PIPELINES, ...tests });
  const out = capture();
  const err = capture();
  const code = await runTest({ config: box.config, paths: paths(box) }, out, err);
  return { code, out: out.text(), err: err.text() };
}

test('passing cases: exit 0, one PASS line each and a summary', async () => {
  const r = await run({
    'shout.test.yaml': [
      'tests:',
      '  - name: opens are shouted',
      '    event: { eventName: emailOpen, email: u@x.com, dataFields: { vip: true } }',
      '    expect:',
      '      shout: { stdout: { who: U@X.COM }, raw: { eventName: emailOpen, email: u@x.com, dataFields: { vip: true } } }',
      '      quiet: { matched: true }',
      '  - name: clicks are not',
      '    event: { eventName: emailClick, email: u@x.com }',
      '    expect: { shout: { matched: false }, quiet: { matched: false } }',
    ].join('\n'),
  });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /^PASS .*shout\.test\.yaml › opens are shouted$/m);
  assert.match(r.out, /^PASS .*shout\.test\.yaml › clicks are not$/m);
  assert.match(r.out, /^2 passed, 0 failed\n$/m);
});

test('a payload mismatch: exit 1, the differing paths, expected and actual as indented JSON', async () => {
  const r = await run({
    'shout.test.yaml':
      'tests:\n  - name: wrong\n    event: { eventName: emailOpen, email: u@x.com }\n    expect:\n      shout: { stdout: { who: u@x.com, extra: 1 } }\n',
  });
  assert.equal(r.code, 1);
  assert.match(r.out, /^FAIL .*shout\.test\.yaml:2 › wrong$/m);
  assert.match(r.out, /shout\/stdout: payload differs at \$\.who, \$\.extra/);
  assert.match(r.out, /expected:\n {6}\{\n {8}"who": "u@x\.com",\n {8}"extra": 1\n {6}\}/);
  assert.match(r.out, /actual:\n {6}\{\n {8}"who": "U@X\.COM"\n {6}\}/);
  assert.match(r.out, /0 passed, 1 failed/);
});

test('wrong match expectations, unknown pipelines and sinks fail with a reason', async () => {
  const r = await run({
    'tests/more.test.yml': [
      'tests:',
      '  - name: several mistakes',
      '    event: { eventName: emailOpen, email: u@x.com }',
      '    expect:',
      '      shout: { matched: false }',
      '      nope: { matched: true }',
      '      quiet: { matched: true }',
    ].join('\n'),
    'tests/sinks.test.yml':
      'tests:\n  - name: no such sink\n    event: { eventName: emailOpen }\n    expect: { shout: { slack: {} } }\n',
  });
  assert.equal(r.code, 1);
  assert.match(r.out, /shout: expected the event to not match, but it did/);
  assert.match(r.out, /nope: no such pipeline \(loaded: quiet, shout\)/);
  assert.match(r.out, /quiet: expected the event to match, but it did not/);
  assert.match(r.out, /shout\/slack: no such sink \(sinks: stdout, raw\)/);
});

test('eventFile is read relative to the test file; explicit paths select files', async () => {
  const r = await run(
    {
      'cases/open.json': '{"eventName":"emailOpen","email":"a@b.c"}',
      'cases/one.test.yaml':
        'tests:\n  - name: from a file\n    eventFile: open.json\n    expect: { shout: { stdout: { who: A@B.C } } }\n',
      'ignored.test.yaml':
        'tests:\n  - name: not run\n    event: { eventName: x }\n    expect: { shout: { matched: true } }\n',
    },
    (b) => [join(b.pipelines, 'cases')],
  );
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /PASS .* › from a file/);
  assert.doesNotMatch(r.out, /not run/);
});

test('a malformed test file is a positioned problem and exit 1', async () => {
  const r = await run({ 'bad.test.yaml': 'tests:\n  - name: x\n    evnt: { eventName: a }\n    expect: {}\n' });
  assert.equal(r.code, 1);
  assert.match(r.out, /bad\.test\.yaml:3:5: tests\[0\]\.evnt: unknown key/);
});

test('a missing path given on the command line is exit 1', async () => {
  const r = await run({}, (b) => [join(b.root, 'missing.test.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.out, /missing\.test\.yaml:1:1: no such file or folder/);
});

test('dedupe: a later case with the same key can expect `deduplicated: true`; a wrong expectation fails', async () => {
  const bounce = (messageId: string) =>
    `{ eventName: emailBounce, email: u@x.com, dataFields: { messageId: "${messageId}", createdAt: "2016-12-02 20:21:04 +00:00" } }`;
  const r = await run({
    'once.yaml': 'dedupe: true\nmatch: { events: [emailBounce] }\nsinks: [{type: stdout}]\n',
    'once.test.yaml': [
      'tests:',
      '  - name: first copy goes out',
      `    event: ${bounce('m1')}`,
      '    expect: { once: { deduplicated: false, matched: true } }',
      '  - name: second copy is dropped',
      `    event: ${bounce('m1')}`,
      '    expect: { once: { matched: true, deduplicated: true } }',
      '  - name: another message is new',
      `    event: ${bounce('m2')}`,
      '    expect: { once: { deduplicated: true } }',
      '  - name: a copy expected to be delivered',
      `    event: ${bounce('m1')}`,
      '    expect: { once: { stdout: { eventName: emailBounce } } }',
    ].join('\n'),
  });
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /^PASS .*› first copy goes out$/m);
  assert.match(r.out, /^PASS .*› second copy is dropped$/m);
  assert.match(
    r.out,
    /^FAIL .*› another message is new\n {2}once: expected the event to be deduplicated, but its key was not seen/m,
  );
  assert.match(
    r.out,
    /^FAIL .*› a copy expected to be delivered\n {2}once: payloads expected, but the event was deduplicated/m,
  );
});
