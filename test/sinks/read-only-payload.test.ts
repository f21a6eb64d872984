// The sinks of one pipeline share one payload object (router.ts evaluates the pipeline transform once per event), so
// no built-in sink, nor the example plugin, may change it: each gets a deeply frozen payload, where any write throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jsonReceiver } from '../fixtures/json-receiver.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import discord from '../../plugins/discord.ts';
import { silentLogger } from '../../src/log.ts';
import type { DeliveryMeta, SinkInstance } from '../../src/sinks/define.ts';
import { createFileSink } from '../../src/sinks/file.ts';
import { createHttpSink, type HttpSinkOptions } from '../../src/sinks/http.ts';
import { createSlackSink } from '../../src/sinks/slack.ts';
import { createStdoutSink } from '../../src/sinks/stdout.ts';

const meta: DeliveryMeta = {
  eventId: 1,
  eventName: 'emailBounce',
  pipeline: 'p',
  sink: 's',
  attempt: 1,
  receivedAt: 0,
  idempotencyKey: 'k1',
};
const never = new AbortController().signal;

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const payload = () =>
  deepFreeze({ text: 'bounce for u@x.com', email: 'u@x.com', dataFields: { campaignId: 59667, labels: ['a'] } });

const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);

const receiver = () => jsonReceiver();

/** Sends one frozen payload twice (as two sinks of one pipeline would get it): both arrive as `expected`, the payload unchanged. */
async function sendsUnchanged(
  sink: SinkInstance,
  received: () => Promise<unknown[]> | unknown[],
  expected: unknown = payload(),
): Promise<void> {
  const p = payload();
  assert.deepEqual(await sink.send(p, meta, never), { ok: true });
  assert.deepEqual(await sink.send(p, meta, never), { ok: true });
  await sink.close();
  assert.deepStrictEqual(await received(), [expected, expected]);
  assert.deepStrictEqual(p, payload(), 'the shared payload is unchanged');
}

test('the file and stdout sinks do not change a shared payload', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-ro-'));
  try {
    const sink = createFileSink({ path: 'out.jsonl', rotate: 'never', keep: 1, fsync: false }, { baseDir: dir });
    await sendsUnchanged(sink, async () => jsonLines(await readFile(join(dir, 'out.jsonl'), 'utf8')));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  let out = '';
  const stream = new Writable({ write: (chunk: Buffer, _enc, done) => ((out += chunk.toString()), done()) });
  await sendsUnchanged(createStdoutSink(stream), () => jsonLines(out));
});

test('the http, slack and discord sinks do not change a shared payload', async () => {
  const mock = await receiver();
  try {
    await sendsUnchanged(
      createHttpSink({ url: mock.url, method: 'POST', timeout: '5s', maxResponseBytes: '1mb' } as HttpSinkOptions, {
        baseDir: '.',
      }),
      () => mock.bodies.splice(0),
    );
    await sendsUnchanged(createSlackSink({ webhookUrl: mock.url, timeout: '5s' }), () => mock.bodies.splice(0));
    const ctx = { pipeline: 'p', sink: 'discord', baseDir: '.', logger: silentLogger, signal: never };
    // The plugin adds its username to what it sends: to a copy.
    const sink = await discord.create({ url: mock.url, timeout: 5000, username: 'hookroute' }, ctx);
    await sendsUnchanged(sink, () => mock.bodies.splice(0), { ...payload(), username: 'hookroute' });
  } finally {
    await mock.close();
  }
});
