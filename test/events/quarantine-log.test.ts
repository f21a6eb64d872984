import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { QuarantineLog } from '../../src/events/quarantine-log.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

test('each quarantined event is logged with where it broke, never its payload', async () => {
  const { lines, logger } = capture();
  new QuarantineLog(logger).note('emailSend', [{ path: '/dataFields/campaignId', message: 'must be integer' }]);
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.level, 40);
  assert.equal(lines[0]!.eventName, 'emailSend');
  assert.deepEqual(lines[0]!.issues, ['/dataFields/campaignId: must be integer']);
});

test('a flood is rate-limited, and what was not logged is counted in a summary line', async () => {
  const { lines, logger } = capture();
  let now = 0;
  const q = new QuarantineLog(logger, 3, 1000, () => now);
  for (let i = 0; i < 50; i++) q.note('emailOpen', [{ path: '/email', message: 'must be string' }]);
  now = 1000;
  q.note('emailOpen', [{ path: '/email', message: 'must be string' }]);
  await new Promise((r) => setImmediate(r));
  assert.equal(lines.filter((l) => l.eventName === 'emailOpen').length, 4);
  const summary = lines.find((l) => l.suppressed !== undefined);
  assert.equal(summary?.suppressed, 47);
});
