// `hookroute send` against a loopback node:http receiver: bodies are valid events, auth headers are right, failures give exit 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { runSend, type SendOptions } from '../../src/cli/send.ts';
import { validateEvent } from '../../src/events/validate.ts';
import { KNOWN_EVENT_NAMES } from '../../src/events/catalog.ts';

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

/** A receiver that records every POST; `answer` picks the status. Serves `/oauth/token` for client `app:s3cret`. */
async function receiver(answer: (req: Received) => number = () => 200) {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/oauth/token') {
        const ok =
          req.headers.authorization === `Basic ${Buffer.from('app:s3cret').toString('base64')}` &&
          text === 'grant_type=client_credentials';
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        return void res.end(
          JSON.stringify(
            ok ? { access_token: 'issued-token', token_type: 'Bearer', expires_in: 3600 } : { error: 'invalid_client' },
          ),
        );
      }
      const entry = { path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as Record<string, unknown> };
      received.push(entry);
      res.writeHead(answer(entry), { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function send(opts: SendOptions): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await runSend(opts, out);
  out.end();
  return { code, text: Buffer.concat(chunks).toString('utf8') };
}

test('--event all sends one valid event per catalog eventName and exits 0', async () => {
  const r = await receiver();
  try {
    const { code, text } = await send({ url: r.url, event: 'all', concurrency: 4 });
    assert.equal(code, 0, text);
    assert.equal(r.received.length, KNOWN_EVENT_NAMES.length);
    assert.deepEqual(r.received.map((e) => e.body.eventName).sort(), [...KNOWN_EVENT_NAMES].sort());
    for (const e of r.received) {
      assert.equal(e.path, '/webhook');
      assert.equal(e.headers['content-type'], 'application/json');
      assert.equal(e.headers.authorization, undefined);
      assert.deepEqual(validateEvent(e.body), [], String(e.body.eventName));
    }
    assert.match(text, new RegExp(`sent ${KNOWN_EVENT_NAMES.length} requests`));
    assert.match(text, new RegExp(`status: 200: ${KNOWN_EVENT_NAMES.length}\\n`));
    assert.match(text, /errors: 0\n/);
    assert.match(text, /latency ms: p50 [\d.]+ {2}p90 [\d.]+ {2}p99 [\d.]+ {2}max [\d.]+/);
  } finally {
    await r.close();
  }
});

test('--count sends exactly that many of one event; --invalid breaks one field; --rate paces without losing requests', async () => {
  const r = await receiver();
  try {
    assert.equal((await send({ url: r.url, event: 'emailClick', count: 7, concurrency: 3 })).code, 0);
    assert.equal(r.received.length, 7);
    assert.ok(r.received.every((e) => e.body.eventName === 'emailClick'));
    assert.equal(new Set(r.received.map((e) => JSON.stringify(e.body))).size, 7, 'each seq is a different event');

    assert.equal((await send({ url: r.url, event: 'emailSend', count: 2, invalid: true })).code, 0);
    for (const e of r.received.slice(7)) assert.equal(validateEvent(e.body)[0]?.path, '/dataFields/campaignId');

    assert.equal((await send({ url: r.url, event: 'all', count: 3, rate: 200 })).code, 0);
    assert.equal(r.received.length, 12);
  } finally {
    await r.close();
  }
});

test('auth options set the Authorization header; --header adds custom headers', async () => {
  const r = await receiver();
  try {
    await send({
      url: r.url,
      event: 'pushOpen',
      authBasic: 'iterable:pa:ss',
      header: ['X-Iterable-Key: abc', 'x-env:test'],
    });
    await send({ url: r.url, event: 'pushOpen', authToken: 'tok-123' });
    await send({ url: r.url, event: 'pushOpen', oauth2: 'app:s3cret' });
    const [basic, token, oauth] = r.received;
    assert.equal(basic!.headers.authorization, `Basic ${Buffer.from('iterable:pa:ss').toString('base64')}`);
    assert.equal(basic!.headers['x-iterable-key'], 'abc');
    assert.equal(basic!.headers['x-env'], 'test');
    assert.equal(token!.headers.authorization, 'Bearer tok-123');
    assert.equal(oauth!.headers.authorization, 'Bearer issued-token');

    const refused = await send({ url: r.url, event: 'pushOpen', oauth2: 'app:wrong' });
    assert.equal(refused.code, 1);
    assert.match(refused.text, /could not get an OAuth2 token .*401/);
    assert.equal(r.received.length, 3, 'nothing sent without a token');
  } finally {
    await r.close();
  }
});

test('a 500 from the server gives exit 1 and shows up in the status counts', async () => {
  let n = 0;
  const r = await receiver(() => (n++ % 2 === 0 ? 200 : 500));
  try {
    const { code, text } = await send({ url: r.url, event: 'smsSend', count: 6, concurrency: 1 });
    assert.equal(code, 1);
    assert.equal(r.received.length, 6);
    assert.match(text, /status: 200: 3, 500: 3\n/);
  } finally {
    await r.close();
  }
});

test('connection errors are counted, not thrown, and give exit 1', async () => {
  const r = await receiver();
  await r.close();
  const { code, text } = await send({ url: r.url, event: 'emailOpen', count: 3, timeout: 5000 });
  assert.equal(code, 1);
  assert.match(text, /sent 3 requests/);
  assert.match(text, /errors: 3 \(ECONNREFUSED: 3\)/);
});

test('a progress line is printed while a run lasts longer than the progress interval', async () => {
  const r = await receiver();
  try {
    const { code, text } = await send({ url: r.url, event: 'emailSend', count: 4, rate: 40, progressEveryMs: 20 });
    assert.equal(code, 0);
    assert.match(text, /^sent \d+\/4 {2}2xx \d+ {2}non-2xx 0 {2}errors 0 {2}\d+\/s$/m);
  } finally {
    await r.close();
  }
});

test('bad options are usage errors (exit 2) and send nothing', async () => {
  const r = await receiver();
  const original = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    for (const opts of [
      { url: 'ftp://127.0.0.1/x' },
      { url: 'not a url' },
      { url: r.url, count: -1 },
      { url: r.url, count: 1.5 },
      { url: r.url, concurrency: 0 },
      { url: r.url, rate: -2 },
      { url: r.url, authBasic: 'nocolon' },
      { url: r.url, header: ['Bad Header: x'] },
      { url: r.url, authToken: 'a', authBasic: 'u:p' },
      { url: r.url, authToken: 'a\nb' },
    ] as SendOptions[]) {
      assert.equal((await send(opts)).code, 2, JSON.stringify(opts));
    }
  } finally {
    process.stderr.write = original;
    await r.close();
  }
  assert.equal(r.received.length, 0);
});
