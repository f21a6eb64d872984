// The command line's contract: --help everywhere, exit codes 0 ok / 1 problem / 2 usage error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BIN } from '../integration/harness.ts';
import pkg from '../../package.json' with { type: 'json' };

const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

test('no command prints usage and exits 2', () => {
  const r = cli();
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Usage: hookroute/);
});

test('--help works on every command and exits 0', () => {
  for (const args of [
    [],
    ['start'],
    ['validate'],
    ['test'],
    ['dlq'],
    ['dlq', 'list'],
    ['dlq', 'replay'],
    ['send'],
    ['schema'],
  ]) {
    const r = cli(...args, '--help');
    assert.equal(r.status, 0, `${args.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, /Usage: hookroute/, args.join(' '));
  }
});

test('--version prints the package version', () => {
  const r = cli('--version');
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('usage errors exit 2 with a message', () => {
  for (const args of [
    ['start', '--bogus'],
    ['frobnicate'],
    ['dlq'],
    ['send', '--count', 'abc'],
    ['send', '--rate', '-1'],
    ['schema', '--format', 'xml'],
  ]) {
    const r = cli(...args);
    assert.equal(r.status, 2, `${args.join(' ')} → ${r.status}: ${r.stderr}`);
    assert.ok(r.stderr.length > 0, `${args.join(' ')} explains itself`);
  }
});

test('a missing -c file is a problem (exit 1), named in the message', () => {
  const r = cli('validate', '-c', '/nonexistent/hookroute.yaml');
  assert.equal(r.status, 1);
  assert.match(r.stdout + r.stderr, /nonexistent\/hookroute\.yaml/);
});

test('a closed stdout does not crash a command', () => {
  const r = spawnSync(
    'bash',
    ['-c', `"${process.execPath}" "${BIN}" schema --format asyncapi | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}"`],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(r.stdout.trim(), '0', r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE/);
});
