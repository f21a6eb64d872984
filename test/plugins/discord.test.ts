import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { jsonReceiver } from '../fixtures/json-receiver.ts';
import { fileURLToPath } from 'node:url';
import { Compile } from 'typebox/compile';
import discord, { discordMessage } from '../../plugins/discord.ts';
import { loadPlugins } from '../../src/sinks/plugins.ts';
import { silentLogger } from '../../src/log.ts';
import type { DeliveryMeta, SinkContext } from '../../src/sinks/define.ts';

const meta: DeliveryMeta = {
  eventId: 1,
  eventName: 'emailBounce',
  pipeline: 'p',
  sink: 'discord',
  attempt: 1,
  receivedAt: 0,
  idempotencyKey: 'k1',
};
const never = new AbortController().signal;
const ctx: SinkContext = { pipeline: 'p', sink: 'discord', baseDir: '.', logger: silentLogger, signal: never };

const discordMock = (reply: (res: ServerResponse) => void) => jsonReceiver(reply, '/api/webhooks/1/abc');

test('a string becomes {content} with the username; an object is sent as is', async () => {
  const mock = await discordMock((res) => res.writeHead(204).end());
  try {
    const sink = await discord.create({ url: mock.url, username: 'hookroute', timeout: 5000 }, ctx);
    assert.deepEqual(await sink.send('bounce for u@x.com', meta, never), { ok: true });
    assert.deepEqual(await sink.send({ embeds: [{ title: 'Bounce' }], username: 'own' }, meta, never), { ok: true });
    assert.deepEqual(mock.bodies, [
      { content: 'bounce for u@x.com', username: 'hookroute' },
      { embeds: [{ title: 'Bounce' }], username: 'own' },
    ]);
    await sink.close();
  } finally {
    await mock.close();
  }
});

test('429 honours retry_after from the JSON body; 5xx retries; 400 is permanent', async () => {
  let status = 429;
  const mock = await discordMock((res) => {
    if (status === 429)
      res
        .writeHead(429, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'You are being rate limited.', retry_after: 2.5, global: false }));
    else res.writeHead(status, { 'content-type': 'application/json' }).end('{"code":50006}');
  });
  try {
    const sink = await discord.create({ url: mock.url, timeout: 5000 }, ctx);
    const limited = await sink.send('x', meta, never);
    assert.equal(limited && !limited.ok && limited.retryable, true);
    assert.equal(limited && !limited.ok && limited.retryAfterMs, 2500);
    status = 502;
    const down = await sink.send('x', meta, never);
    assert.equal(down && !down.ok && down.retryable, true);
    status = 400;
    const bad = await sink.send('x', meta, never);
    assert.deepEqual(bad, { ok: false, retryable: false, error: 'discord: HTTP 400 {"code":50006}', status: 400 });
  } finally {
    await mock.close();
  }
});

test("long strings are cut to Discord's 2000 characters; arrays are refused", async () => {
  assert.equal((discordMessage('y'.repeat(5000), undefined)!.content as string).length, 2000);
  const sink = await discord.create({ url: 'https://discord.com/api/webhooks/1/abc', timeout: 5000 }, ctx);
  const out = await sink.send([1], meta, never);
  assert.equal(out && !out.ok && out.retryable, false);
});

test('the url must be https (http only to loopback)', () => {
  const check = Compile(discord.options);
  assert.equal(check.Check({ url: 'https://discord.com/api/webhooks/1/abc', timeout: 1000 }), true);
  assert.equal(check.Check({ url: 'http://discord.com/api/webhooks/1/abc', timeout: 1000 }), false);
  assert.throws(() => discord.create({ url: 'http://example.com/x', timeout: 1000 }, ctx), /https/);
});

test('the shipped plugins folder loads with no problems and declares discord', async () => {
  const dir = fileURLToPath(new URL('../../plugins/', import.meta.url));
  const { sinks, problems } = await loadPlugins({
    dir,
    reserved: new Map([['http', 'built-in']]),
    logger: silentLogger,
  });
  assert.deepEqual(problems, []);
  assert.deepEqual(
    sinks.map((s) => s.definition.type),
    ['discord'],
  );
});
