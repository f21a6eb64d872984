import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDlq } from '../../src/cli/dlq.ts';
import { DeadLetterStore, newDeadLetterId, type DeadLetter } from '../../src/dead-letters/store.ts';
import { deadLetterDir } from '../../src/journal/layout.ts';

function capture() {
  let text = '';
  return {
    write: (s: string) => (text += s),
    get text() {
      return text;
    },
  };
}

async function listen(handler: (req: IncomingMessage, body: string, res: ServerResponse) => void) {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => handler(req, body, res));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** A port nothing listens on (bound, then released), so the admin probe is refused. */
async function closedPort(): Promise<number> {
  const s = await listen(() => {});
  await s.close();
  return s.port;
}

function rec(over: Partial<DeadLetter>): DeadLetter {
  return {
    id: newDeadLetterId(),
    reason: 'delivery_failed',
    eventId: 1,
    eventName: 'emailBounce',
    receivedAt: 1_700_000_000_000,
    event: { eventName: 'emailBounce', email: 'a@example.com' },
    pipeline: 'hooks',
    sink: 'target',
    attempts: 8,
    lastError: 'HTTP 503',
    status: 503,
    firstAttemptAt: 1_700_000_000_100,
    lastAttemptAt: 1_700_000_060_000,
    deadAt: 1_700_000_060_000,
    ...over,
  };
}

async function project(targetPort: number, adminPort: number) {
  const root = await mkdtemp(join(tmpdir(), 'hookroute-dlq-cli-'));
  await mkdir(join(root, 'pipelines'));
  await mkdir(join(root, 'plugins'));
  await writeFile(
    join(root, 'config.yaml'),
    `storage: { dir: ./data, fsync: off }\npipelines: { dir: ./pipelines, watch: false }\nplugins: { dir: ./plugins }\nadmin: { host: 127.0.0.1, port: ${adminPort} }\nlog: { level: silent }\n`,
  );
  await writeFile(
    join(root, 'pipelines', 'hooks.yaml'),
    `name: hooks\nsinks:\n  - type: http\n    name: target\n    url: http://127.0.0.1:${targetPort}/hook\n    retry: { attempts: 2, initialDelay: 1ms, maxDelay: 5ms }\n`,
  );
  return root;
}

async function seed(root: string, records: DeadLetter[]) {
  const store = await DeadLetterStore.open(deadLetterDir(join(root, 'data')));
  for (const r of records) await store.append(r);
  await store.close();
}

async function stored(root: string): Promise<DeadLetter[]> {
  const store = await DeadLetterStore.open(deadLetterDir(join(root, 'data')));
  const all: DeadLetter[] = [];
  for await (const r of store.list()) all.push(r);
  await store.close();
  return all;
}

test('offline: list, replay (delivered removed, failing kept with history), replay again', async () => {
  let accept = new Set(['one@example.com', 'two@example.com']);
  const received: string[] = [];
  const target = await listen((_req, body, res) => {
    const email = (JSON.parse(body) as { email: string }).email;
    received.push(email);
    res.writeHead(accept.has(email) ? 200 : 400).end();
  });
  const root = await project(target.port, await closedPort());
  const config = join(root, 'config.yaml');
  await seed(root, [
    rec({ eventId: 1, event: { eventName: 'emailBounce', email: 'one@example.com' } }),
    rec({
      eventId: 2,
      event: { eventName: 'emailBounce', email: 'two@example.com' },
      reason: 'permanent_error',
      status: 404,
      lastError: 'HTTP 404',
    }),
    rec({ eventId: 3, event: { eventName: 'emailBounce', email: 'three@example.com' }, attempts: 8 }),
    rec({ eventId: 4, sink: 'gone' }),
    rec({
      eventId: 5,
      pipeline: undefined,
      sink: undefined,
      reason: 'quarantined',
      attempts: 0,
      lastError: '/dataFields/campaignId: must be integer',
    }),
  ]);

  try {
    const out = capture();
    const err = capture();
    assert.equal(await runDlq('list', { config }, out, err), 0, err.text);
    assert.match(out.text, /PIPELINE\s+SINK\s+REASON\s+COUNT\s+LAST ERROR\s+LAST AT/);
    assert.match(out.text, /hooks\s+target\s+delivery_failed\s+2\s+HTTP 503/);
    assert.match(out.text, /-\s+-\s+quarantined\s+1/);
    assert.match(out.text, /5 dead letters/);

    const json = capture();
    assert.equal(await runDlq('list', { config, sink: 'target', json: true }, json, err), 0);
    const groups = JSON.parse(json.text) as { reason: string; count: number }[];
    assert.deepEqual(
      groups.map((g) => [g.reason, g.count]),
      [
        ['delivery_failed', 2],
        ['permanent_error', 1],
      ],
    );

    const r1 = capture();
    assert.equal(await runDlq('replay', { config }, r1, err), 1, 'one failed again');
    assert.match(r1.text, /replayed 4: 2 delivered, 1 failed again/);
    assert.match(r1.text, /1 kept: their pipeline or sink no longer exists/);
    assert.match(r1.text, /1 quarantined or unrouted record\(s\) not replayed/);
    assert.deepEqual(received.sort(), ['one@example.com', 'three@example.com', 'two@example.com']);

    const left = await stored(root);
    assert.deepEqual(left.map((r) => r.eventId).sort(), [3, 4, 5]);
    const three = left.find((r) => r.eventId === 3)!;
    assert.equal(three.reason, 'permanent_error');
    assert.equal(three.status, 400);
    assert.equal(three.attempts, 9, '8 before, 1 now');
    assert.equal(three.firstAttemptAt, 1_700_000_000_100, 'history kept');
    assert.equal(left.find((r) => r.eventId === 4)?.reason, 'sink_removed');

    accept = new Set(['three@example.com']);
    received.length = 0;
    const r2 = capture();
    assert.equal(await runDlq('replay', { config, sink: 'target' }, r2, err), 0, r2.text + err.text);
    assert.match(r2.text, /replayed 1: 1 delivered, 0 failed again/);
    assert.deepEqual(received, ['three@example.com']);
    assert.deepEqual((await stored(root)).map((r) => r.eventId).sort(), [4, 5]);
  } finally {
    await target.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('offline with nothing stored yet: empty list, empty replay', async () => {
  const root = await project(await closedPort(), await closedPort());
  try {
    const out = capture();
    const err = capture();
    assert.equal(await runDlq('list', { config: join(root, 'config.yaml') }, out, err), 0, err.text);
    assert.equal(out.text, 'no dead letters\n');
    const r = capture();
    assert.equal(await runDlq('replay', { config: join(root, 'config.yaml'), json: true }, r, err), 0, err.text);
    assert.deepEqual(JSON.parse(r.text), { replayed: 0, delivered: 0, failed: 0, missing: 0, skipped: 0 });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('daemon running: list and replay go through the admin API with filters and token', async () => {
  const calls: string[] = [];
  const admin = await listen((req, _body, res) => {
    calls.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    if (req.headers.authorization !== 'Bearer s3cret')
      return void res.writeHead(401).end('{"error":"unauthorized","message":"no"}');
    if (req.method === 'GET' && req.url?.startsWith('/dlq')) {
      return void res.end(
        JSON.stringify([
          {
            pipeline: 'hooks',
            sink: 'target',
            reason: 'delivery_failed',
            count: 7,
            lastError: 'HTTP 503',
            lastAt: 1_700_000_000_000,
          },
        ]),
      );
    }
    if (req.method === 'POST' && req.url?.startsWith('/dlq/replay')) return void res.end('{"replayed":7}');
    res.writeHead(404).end();
  });
  const root = await project(await closedPort(), admin.port);
  const config = join(root, 'config.yaml');
  try {
    const out = capture();
    const err = capture();
    assert.equal(await runDlq('list', { config }, out, err), 1, 'no token: 401');
    assert.match(err.text, /answered 401.*admin\.token/);

    await writeFile(config, `storage: { dir: ./data }\nadmin: { host: 0.0.0.0, port: ${admin.port}, token: s3cret }\n`);
    const list = capture();
    assert.equal(await runDlq('list', { config, pipeline: 'hooks', sink: 'target' }, list, err), 0, err.text);
    assert.match(list.text, /hooks\s+target\s+delivery_failed\s+7\s+HTTP 503/);
    const replay = capture();
    assert.equal(await runDlq('replay', { config, pipeline: 'hooks' }, replay, err), 0, err.text);
    assert.match(replay.text, /replayed 7 dead letter\(s\) into the running daemon/);
    assert.deepEqual(calls.slice(1), [
      'GET /dlq?pipeline=hooks&sink=target Bearer s3cret',
      'GET /dlq?pipeline=hooks Bearer s3cret',
      'POST /dlq/replay?pipeline=hooks Bearer s3cret',
    ]);
  } finally {
    await admin.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('admin.port 0: the daemon is found through <storage.dir>/admin.json; unreachable while it holds the lock is an error', async () => {
  const admin = await listen((req, _body, res) => void res.end(req.method === 'POST' ? '{"replayed":0}' : '[]'));
  const root = await project(await closedPort(), 0);
  const config = join(root, 'config.yaml');
  const data = join(root, 'data');
  try {
    await mkdir(data, { recursive: true });
    // this test process plays the running daemon: it "holds" the storage lock
    await writeFile(join(data, 'hookroute.lock'), `${process.pid}\n`);
    const err = capture();
    assert.equal(await runDlq('list', { config }, capture(), err), 1);
    assert.match(err.text, new RegExp(`pid ${process.pid}.*not reachable`));

    await writeFile(
      join(data, 'admin.json'),
      JSON.stringify({ pid: process.pid, host: '127.0.0.1', port: admin.port }),
    );
    const out = capture();
    assert.equal(await runDlq('list', { config }, out, err), 0, err.text);
    assert.equal(out.text, 'no dead letters\n');

    const replay = capture();
    assert.equal(await runDlq('replay', { config }, replay, err), 0, err.text);
    assert.match(replay.text, /replayed 0 dead letter\(s\) into the running daemon/);
  } finally {
    await admin.close();
    await rm(root, { recursive: true, force: true });
  }
});

test('a bad config file is reported with exit 1', async () => {
  const root = await mkdtemp(join(tmpdir(), 'hookroute-dlq-cli-'));
  try {
    await writeFile(join(root, 'config.yaml'), 'storage: { nope: 1 }\n');
    const err = capture();
    assert.equal(await runDlq('list', { config: join(root, 'config.yaml') }, capture(), err), 1);
    assert.match(err.text, /config\.yaml:1/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
