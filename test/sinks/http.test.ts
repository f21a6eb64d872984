import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Compile } from 'typebox/compile';
import { createHttpSink, httpSink, HttpSinkOptions } from '../../src/sinks/http.ts';
import { parseRetryAfter, loadCa } from '../../src/sinks/util/http-client.ts';
import type { DeliveryMeta, SinkInstance } from '../../src/sinks/define.ts';

const meta: DeliveryMeta = {
  eventId: 1,
  eventName: 'emailSend',
  pipeline: 'p',
  sink: 'http',
  attempt: 1,
  receivedAt: 0,
  idempotencyKey: 'k1',
};
const never = new AbortController().signal;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(req, res);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook?x=1`,
    seen,
    connections: () => connections,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const sinks: SinkInstance[] = [];
function sink(options: Partial<HttpSinkOptions> & { url: string }): SinkInstance {
  const s = createHttpSink({ method: 'POST', timeout: '5s', maxResponseBytes: '1mb', ...options } as HttpSinkOptions, {
    baseDir: process.cwd(),
  });
  sinks.push(s);
  return s;
}
after(async () => {
  for (const s of sinks) await s.close();
});

test('2xx is ok; the body is the payload as JSON, with method, headers and path sent', async () => {
  const srv = await serve((_req, res) => res.writeHead(204).end());
  try {
    const s = sink({ url: srv.url, headers: { Authorization: 'Bearer abc', 'X-Tag': 't' } });
    assert.deepEqual(await s.send({ eventName: 'emailSend', n: [1, 2] }, meta, never), { ok: true });
    const req = srv.seen[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/hook?x=1');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers.authorization, 'Bearer abc');
    assert.equal(req.headers['x-tag'], 't');
    assert.deepEqual(JSON.parse(req.body), { eventName: 'emailSend', n: [1, 2] });
  } finally {
    await srv.close();
  }
});

test('PUT sends a string payload as a JSON string, and connections are kept alive', async () => {
  const srv = await serve((_req, res) => res.end('fine'));
  try {
    const s = sink({ url: srv.url, method: 'PUT' });
    assert.deepEqual(await s.send('hello', meta, never), { ok: true });
    for (let i = 0; i < 5; i++) assert.deepEqual(await s.send('again', meta, never), { ok: true });
    assert.equal(srv.seen[0]!.method, 'PUT');
    assert.equal(srv.seen[0]!.body, '"hello"');
    // undici may open a second socket while the first is being marked idle; without keep-alive it would be 6.
    assert.ok(srv.connections() <= 2, `connections: ${srv.connections()}`);
  } finally {
    await srv.close();
  }
});

test('500, 503 and 408 are retryable with their status; 400 and 404 are permanent', async () => {
  let status = 500;
  const srv = await serve((_req, res) => res.writeHead(status).end('upstream says no'));
  try {
    const s = sink({ url: srv.url });
    for (const code of [500, 503, 408]) {
      status = code;
      const out = await s.send({}, meta, never);
      assert.equal(out && !out.ok && out.retryable, true, `status ${code}`);
      assert.equal(out && !out.ok && out.status, code);
      assert.match(out && !out.ok ? out.error : '', new RegExp(`HTTP ${code}: upstream says no`));
    }
    for (const code of [400, 404]) {
      status = code;
      const out = await s.send({}, meta, never);
      assert.deepEqual(out, { ok: false, retryable: false, error: `HTTP ${code}: upstream says no`, status: code });
    }
  } finally {
    await srv.close();
  }
});

test('429 with Retry-After in seconds, 503 with an HTTP-date', async () => {
  let retryAfter = '7';
  let status = 429;
  const srv = await serve((_req, res) => res.writeHead(status, { 'retry-after': retryAfter }).end());
  try {
    const s = sink({ url: srv.url });
    const a = await s.send({}, meta, never);
    assert.deepEqual(a, { ok: false, retryable: true, error: 'HTTP 429', status: 429, retryAfterMs: 7000 });
    status = 503;
    retryAfter = new Date(Date.now() + 60_000).toUTCString();
    const b = await s.send({}, meta, never);
    assert.ok(b && !b.ok && b.retryable);
    const ms = b && !b.ok ? (b.retryAfterMs ?? -1) : -1;
    assert.ok(ms > 30_000 && ms <= 60_000, `retryAfterMs ${ms}`);
  } finally {
    await srv.close();
  }
});

test('parseRetryAfter reads seconds and HTTP-dates and ignores junk', () => {
  const now = Date.parse('Fri, 27 Nov 2026 17:00:00 GMT');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter('Fri, 27 Nov 2026 17:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Fri, 27 Nov 2026 16:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter('1.5', now), undefined);
  assert.equal(parseRetryAfter(undefined, now), undefined);
});

test('a hanging server is a retryable timeout', { timeout: 10_000 }, async () => {
  const srv = await serve(() => {
    /* never answers */
  });
  try {
    const out = await sink({ url: srv.url, timeout: '200ms' }).send({}, meta, never);
    assert.equal(out && !out.ok && out.retryable, true);
    assert.match(out && !out.ok ? out.error : '', /timed out after 200ms/);
  } finally {
    await srv.close();
  }
});

test('an aborted attempt resolves at once as retryable', { timeout: 10_000 }, async () => {
  const srv = await serve(() => {});
  try {
    const ac = new AbortController();
    const pending = sink({ url: srv.url, timeout: '1h' }).send({}, meta, ac.signal);
    setImmediate(() => ac.abort());
    const out = await pending;
    assert.equal(out && !out.ok && out.retryable, true);
  } finally {
    await srv.close();
  }
});

test('connection refused is retryable', async () => {
  const srv = await serve(() => {});
  const url = srv.url;
  await srv.close();
  const out = await sink({ url }).send({}, meta, never);
  assert.equal(out && !out.ok && out.retryable, true);
  assert.match(out && !out.ok ? out.error : '', /network error: ECONNREFUSED/);
});

test('a huge response body is read only up to maxResponseBytes', { timeout: 10_000 }, async () => {
  let closed = false;
  let sent = 0;
  const srv = await serve((_req, res) => {
    res.writeHead(502);
    const chunk = Buffer.alloc(64 * 1024, 'x');
    res.on('close', () => {
      closed = true;
    });
    const pump = () => {
      // Up to 1 GiB: far more than the sink may read; the sink must hang up instead.
      while (!closed && sent < 1024 ** 3) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  try {
    const out = await sink({ url: srv.url, maxResponseBytes: '256kb' }).send({}, meta, never);
    assert.equal(out && !out.ok && out.retryable, true);
    assert.equal(out && !out.ok && out.status, 502);
    assert.ok(out && !out.ok && out.error.length < 300, 'the quoted body is short');
    while (!closed) await new Promise((r) => setTimeout(r, 20));
    assert.equal(closed, true);
    assert.ok(sent < 64 * 1024 ** 2, `server got to write ${sent} bytes`);
  } finally {
    await srv.close();
  }
});

test('options: only http(s) URLs, valid header names; the schema documents defaults', () => {
  assert.throws(() => createHttpSink({ url: 'ftp://x/y' } as HttpSinkOptions, { baseDir: '.' }), /http or https/);
  assert.throws(() => createHttpSink({ url: 'https://u:p@x/y' } as HttpSinkOptions, { baseDir: '.' }), /credentials/);
  assert.throws(
    () =>
      createHttpSink({ url: 'https://x/', headers: { 'bad header': 'v' } } as unknown as HttpSinkOptions, {
        baseDir: '.',
      }),
    /header name/,
  );
  const check = Compile(httpSink.options);
  assert.equal(check.Check({ url: 'https://x/', method: 'POST', timeout: '10s', maxResponseBytes: '1mb' }), true);
  assert.equal(
    check.Check({ url: 'file:///etc/passwd', method: 'POST', timeout: '10s', maxResponseBytes: '1mb' }),
    false,
  );
  assert.equal(check.Check({ url: 'https://x/', method: 'GET', timeout: '10s', maxResponseBytes: '1mb' }), false);
  assert.equal(httpSink.type, 'http');
});

test('tls.ca is inline PEM or a file relative to the config folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-http-'));
  try {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    await writeFile(join(dir, 'ca.pem'), pem);
    assert.equal(loadCa(pem, '/nowhere'), pem);
    assert.equal(loadCa('ca.pem', dir), pem);
    assert.equal(loadCa(undefined, dir), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('https: an unknown CA is refused (retryable), trusted via tls.ca or with rejectUnauthorized off', async () => {
  const { createServer: createHttpsServer } = await import('node:https');
  const { readFile } = await import('node:fs/promises');
  const fixtures = new URL('../fixtures/tls/', import.meta.url);
  const [key, cert] = await Promise.all([
    readFile(new URL('localhost-key.pem', fixtures), 'utf8'),
    readFile(new URL('localhost-cert.pem', fixtures), 'utf8'),
  ]);
  const server = createHttpsServer({ key, cert }, (req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    const refused = await sink({ url }).send({}, meta, never);
    assert.equal(refused && !refused.ok && refused.retryable, true);
    assert.match(refused && !refused.ok ? refused.error : '', /network error/);
    const trusting = createHttpSink(
      {
        url,
        method: 'POST',
        timeout: '5s',
        maxResponseBytes: '1mb',
        tls: { rejectUnauthorized: true, ca: 'localhost-cert.pem' },
      },
      { baseDir: fileURLToPath(fixtures) },
    );
    sinks.push(trusting);
    assert.deepEqual(await trusting.send({}, meta, never), { ok: true });
    assert.deepEqual(await sink({ url, tls: { rejectUnauthorized: false } }).send({}, meta, never), { ok: true });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});
