import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { jsonReceiver } from '../fixtures/json-receiver.ts';
import { Compile } from 'typebox/compile';
import { createSlackSink, slackMessage, slackSink, type SlackSinkOptions } from '../../src/sinks/slack.ts';
import type { DeliveryMeta } from '../../src/sinks/define.ts';

const meta: DeliveryMeta = {
  eventId: 1,
  eventName: 'emailBounce',
  pipeline: 'p',
  sink: 'slack',
  attempt: 1,
  receivedAt: 0,
  idempotencyKey: 'k1',
};
const never = new AbortController().signal;

/** A Slack incoming-webhook mock: answers `ok` unless `reply` says otherwise. */
const slackMock = (reply?: (res: ServerResponse) => void) => jsonReceiver(reply, '/services/T000/B000/XXXX');

test('a string payload becomes {"text": ...}; an object is sent as is', async () => {
  const mock = await slackMock();
  const sink = createSlackSink({ webhookUrl: mock.url, timeout: '5s' });
  try {
    assert.deepEqual(await sink.send(':warning: bounce for u@x.com', meta, never), { ok: true });
    const blocks = { blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*bounce*' } }] };
    assert.deepEqual(await sink.send(blocks, meta, never), { ok: true });
    assert.deepEqual(mock.bodies, [{ text: ':warning: bounce for u@x.com' }, blocks]);
  } finally {
    await sink.close();
    await mock.close();
  }
});

test('429 with Retry-After is retryable with the wait; a 4xx from Slack is permanent with its reason', async () => {
  let status = 429;
  const mock = await slackMock((res) =>
    status === 429 ? res.writeHead(429, { 'retry-after': '30' }).end() : res.writeHead(status).end('channel_not_found'),
  );
  const sink = createSlackSink({ webhookUrl: mock.url, timeout: '5s' });
  try {
    assert.deepEqual(await sink.send('x', meta, never), {
      ok: false,
      retryable: true,
      error: 'HTTP 429',
      status: 429,
      retryAfterMs: 30_000,
    });
    status = 404;
    assert.deepEqual(await sink.send('x', meta, never), {
      ok: false,
      retryable: false,
      error: 'HTTP 404: channel_not_found',
      status: 404,
    });
  } finally {
    await sink.close();
    await mock.close();
  }
});

test('payloads Slack cannot take are permanent failures', async () => {
  const sink = createSlackSink({ webhookUrl: 'https://hooks.slack.com/services/T/B/X', timeout: '5s' });
  try {
    const out = await sink.send([1, 2], meta, never);
    assert.equal(out && !out.ok && out.retryable, false);
    assert.equal(slackMessage(null), undefined);
    assert.deepEqual(slackMessage(42), { text: '42' });
  } finally {
    await sink.close();
  }
});

test('webhookUrl must be https, or http only to loopback; defaults are one message a second', () => {
  const check = Compile(slackSink.options);
  const ok = (webhookUrl: string) => check.Check({ webhookUrl, timeout: '10s' });
  assert.equal(ok('https://hooks.slack.com/services/T/B/X'), true);
  assert.equal(ok('http://127.0.0.1:8080/hook'), true);
  assert.equal(ok('http://[::1]:8080/hook'), true);
  assert.equal(ok('http://localhost/hook'), true);
  assert.equal(ok('http://hooks.slack.com/services/T/B/X'), false);
  assert.equal(ok('http://127.0.0.1.evil.com/hook'), false);
  assert.throws(() => createSlackSink({ webhookUrl: 'http://example.com/x' } as SlackSinkOptions), /https/);
  assert.deepEqual(slackSink.defaults, { rate: '1/s', concurrency: 1 });
});
