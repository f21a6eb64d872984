// Black-box tests of the ingress contract table: every status code, against a real listener on loopback, on each engine.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it, test } from 'node:test';
import { request } from 'undici';
import { HandoffRefused } from '../../src/events/record.ts';
import { counterValue, errorCodeOf, forEachEngine, head, rawRequest, type TestIngress } from './ingress-harness.ts';

const SAMPLES = readFileSync(new URL('../fixtures/iterable-samples.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n');
const JSON_CT = { 'content-type': 'application/json' };

async function post(url: string, body: string | Buffer, headers: Record<string, string> = JSON_CT, method = 'POST') {
  const res = await request(url, { method: method as 'POST', headers, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

forEachEngine(({ startIngress }) => {
  describe('ingress contract', () => {
    let t: TestIngress;
    before(async () => {
      t = await startIngress();
    });
    after(() => t.close());

    it('200: accepts every Iterable sample and hands off the exact bytes', async () => {
      for (const line of SAMPLES) {
        const before = Date.now();
        const res = await post(t.url, line);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(JSON.parse(res.text), { ok: true });
        const event = t.handoff.events.at(-1)!;
        assert.equal(event.raw.toString('utf8'), line);
        assert.deepEqual(event.body, JSON.parse(line));
        assert.equal(event.eventName, JSON.parse(line).eventName);
        assert.equal(event.invalid, undefined);
        assert.ok(event.receivedAt >= before && event.receivedAt <= Date.now());
      }
      assert.equal(await counterValue(t.metrics, 'hookroute_events_accepted_total', { event: 'emailSend' }), 1);
      assert.ok(
        (await counterValue(t.metrics, 'hookroute_ingress_requests_total', { status: '200' })) >= SAMPLES.length,
      );
    });

    it('200: Content-Type with charset in any case, or missing, is accepted; query strings are ignored', async () => {
      for (const headers of [{ 'content-type': 'Application/JSON; charset=UTF-8' }, {} as Record<string, string>]) {
        const res = await post(t.url + '?x=1', '{"eventName":"emailOpen"}', headers);
        assert.equal(res.status, 200, JSON.stringify(headers));
      }
    });

    const bad400: [string, string | Buffer, string][] = [
      ['invalid JSON', '{"eventName":"x"', 'invalid_json'],
      ['an array', '[{"eventName":"x"}]', 'not_an_object'],
      ['a number', '42', 'not_an_object'],
      ['no eventName', '{"email":"u@x.com"}', 'missing_event_name'],
      ['empty eventName', '{"eventName":""}', 'missing_event_name'],
      ['non-string eventName', '{"eventName":["emailSend"]}', 'missing_event_name'],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0x65, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'invalid_utf8'],
      ['an empty body', '', 'invalid_json'],
    ];
    for (const [name, body, code] of bad400) {
      it(`400 ${code}: ${name}`, async () => {
        const count = t.handoff.events.length;
        const res = await post(t.url, body);
        assert.equal(res.status, 400);
        assert.equal(errorCodeOf(res.text), code);
        assert.equal(t.handoff.events.length, count, 'nothing handed off');
      });
    }

    it('404 on other paths, 405 with Allow on other methods', async () => {
      for (const path of ['/', '/webhook/', '/other', '/oauth/token']) {
        const res = await post(`http://127.0.0.1:${t.port}${path}`, '{}');
        assert.equal(res.status, 404, path);
        assert.equal(errorCodeOf(res.text), 'not_found');
      }
      for (const method of ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
        const res = await request(t.url, { method: method as 'GET' });
        assert.equal(res.statusCode, 405, method);
        assert.equal(res.headers.allow, 'POST');
        assert.equal(errorCodeOf(await res.body.text()), 'method_not_allowed');
      }
    });

    it('413 when Content-Length announces too much: answered before any body byte, connection closed', async () => {
      const res = await rawRequest(t.port, [
        head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': 1025 }),
      ]);
      assert.equal(res.status, 413);
      assert.equal(errorCodeOf(res.body), 'payload_too_large');
      assert.equal(res.closed, true);
    });

    it('413 for a body just over the limit, 200 for one exactly at it', async () => {
      const at = JSON.stringify({ eventName: 'emailSend', pad: '' });
      const exact = JSON.stringify({ eventName: 'emailSend', pad: 'x'.repeat(1024 - at.length) });
      assert.equal(Buffer.byteLength(exact), 1024);
      assert.equal((await post(t.url, exact)).status, 200);
      const over = await post(t.url, exact.replace('"pad":"', '"pad":"x'));
      assert.equal(over.status, 413);
      assert.equal(errorCodeOf(over.text), 'payload_too_large');
    });

    it('413 for a chunked body whose running size passes the limit, connection closed', async () => {
      const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
      const res = await rawRequest(
        t.port,
        [
          head('/webhook', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }),
          chunk('{"eventName":"x","a":"'),
          chunk('y'.repeat(600)),
          chunk('y'.repeat(600)),
        ],
        { gapMs: 10 },
      );
      assert.equal(res.status, 413);
      assert.equal(res.closed, true);
    });

    it('415 for a Content-Type that is not JSON', async () => {
      for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=iso-8859-1']) {
        const res = await post(t.url, '{"eventName":"x"}', { 'content-type': ct });
        assert.equal(res.status, 415, ct);
        assert.equal(errorCodeOf(res.text), 'unsupported_media_type');
      }
    });

    it('quarantine (default): an invalid event is accepted with its issues', async () => {
      t.issues = [{ path: '/dataFields/campaignId', message: 'must be integer' }];
      try {
        const res = await post(t.url, '{"eventName":"emailSend","dataFields":{"campaignId":"x"}}');
        assert.equal(res.status, 200);
        assert.deepEqual(t.handoff.events.at(-1)!.invalid, t.issues);
        assert.equal(await counterValue(t.metrics, 'hookroute_events_quarantined_total', { event: 'emailSend' }), 1);
      } finally {
        t.issues = [];
      }
    });

    it('503 with Retry-After when the hand-off refuses, 500 when it fails otherwise', async () => {
      t.handoff.behaviour = async () => {
        throw new HandoffRefused('storage_full', 'disk full', 7);
      };
      try {
        const full = await post(t.url, '{"eventName":"x"}');
        assert.equal(full.status, 503);
        assert.equal(full.headers['retry-after'], '7');
        assert.equal(errorCodeOf(full.text), 'storage_full');
        t.handoff.behaviour = () => Promise.reject(new Error('boom'));
        const broken = await post(t.url, '{"eventName":"x"}');
        assert.equal(broken.status, 500);
        assert.equal(errorCodeOf(broken.text), 'internal_error');
        t.handoff.behaviour = () => {
          throw new Error('synchronous boom');
        };
        assert.equal((await post(t.url, '{"eventName":"x"}')).status, 500);
      } finally {
        t.handoff.behaviour = async () => {};
      }
      assert.equal((await post(t.url, '{"eventName":"x"}')).status, 200);
    });
  });

  describe('ingress bugs downstream', () => {
    it('500 when validate() throws, 200 when only the metric label throws after storing; no unhandled rejection, serving goes on', async () => {
      const t = await startIngress();
      const unhandled: unknown[] = [];
      const onUnhandled = (err: unknown) => unhandled.push(err);
      process.on('unhandledRejection', onUnhandled);
      try {
        t.hooks.validate = () => {
          throw new Error('validator bug');
        };
        const v = await post(t.url, '{"eventName":"x"}');
        assert.equal(v.status, 500);
        assert.equal(errorCodeOf(v.text), 'internal_error');
        delete t.hooks.validate;
        t.hooks.eventLabel = () => {
          throw new Error('label bug');
        };
        // The event was stored before the label broke: it is answered 200 (a 500 would only make the sender duplicate it).
        const l = await post(t.url, '{"eventName":"x"}');
        assert.equal(l.status, 200);
        delete t.hooks.eventLabel;
        await t.ingress.idle(1000);
        assert.equal((await post(t.url, '{"eventName":"x"}')).status, 200);
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(unhandled, []);
      } finally {
        process.off('unhandledRejection', onUnhandled);
        t.close();
      }
    });
  });

  describe('ingress setup', () => {
    it('refuses a webhook path that uWS would read as a pattern, or one that hides the token endpoint', async () => {
      for (const path of ['/hooks/:id', '/hooks/*', '/a b'])
        await assert.rejects(startIngress({ server: { path } }), /plain path/, path);
      const oauth2 = { clients: [{ id: 'a', secret: 'b' }], tokenTtlMs: 1000 };
      await assert.rejects(
        startIngress({ server: { path: '/oauth/token' }, auth: { mode: 'oauth2', oauth2 } }),
        /token endpoint/,
      );
    });

    it('serves a custom server.path and only that', async () => {
      const t = await startIngress({ server: { path: '/iterable/events' } });
      try {
        assert.equal((await post(t.url, '{"eventName":"x"}')).status, 200);
        assert.equal((await post(`http://127.0.0.1:${t.port}/webhook`, '{"eventName":"x"}')).status, 404);
      } finally {
        t.close();
      }
    });
  });

  describe('ingress reject mode', () => {
    it('422 lists the issues, bounded, and nothing is handed off', async () => {
      const t = await startIngress({ validation: { onInvalid: 'reject' } });
      try {
        t.issues = Array.from({ length: 25 }, (_, i) => ({ path: `/f${i}`, message: 'must be string' }));
        const res = await post(t.url, '{"eventName":"emailSend"}');
        assert.equal(res.status, 422);
        const body = JSON.parse(res.text);
        assert.equal(errorCodeOf(res.text), 'invalid_event');
        assert.equal(body.issues.length, 20);
        assert.deepEqual(body.issues[0], { path: '/f0', message: 'must be string' });
        assert.equal(body.moreIssues, 5);
        assert.equal(t.handoff.events.length, 0);
        assert.equal(await counterValue(t.metrics, 'hookroute_events_rejected_total', { event: 'emailSend' }), 1);
        t.issues = [];
        assert.equal((await post(t.url, '{"eventName":"emailSend"}')).status, 200);
      } finally {
        t.close();
      }
    });
  });

  describe('ingress shutdown and load shedding', () => {
    it('stopAccepting: new requests get 503 + Retry-After, the one in flight still gets 200, idle() waits for it', async () => {
      const t = await startIngress();
      try {
        let release!: () => void;
        t.handoff.behaviour = () => new Promise<void>((r) => (release = r));
        const inFlight = post(t.url, '{"eventName":"emailSend"}');
        while (t.handoff.events.length === 0) await new Promise((r) => setTimeout(r, 5));
        t.ingress.stopAccepting();
        const refused = await post(t.url, '{"eventName":"emailSend"}');
        assert.equal(refused.status, 503);
        assert.ok(Number(refused.headers['retry-after']) > 0);
        assert.equal(errorCodeOf(refused.text), 'shutting_down');
        let idle = false;
        const idlePromise = t.ingress.idle(60_000).then(() => (idle = true));
        await new Promise((r) => setTimeout(r, 20));
        assert.equal(idle, false, 'idle() waits for the request in flight');
        release();
        assert.equal((await inFlight).status, 200);
        await idlePromise;
        assert.equal(idle, true);
      } finally {
        t.close();
      }
    });

    it('idle() gives up after its timeout', async () => {
      const t = await startIngress();
      try {
        t.handoff.behaviour = () => new Promise<void>(() => {});
        let settled = false;
        const stuck = post(t.url, '{"eventName":"x"}')
          .catch(() => undefined)
          .finally(() => (settled = true));
        while (t.handoff.events.length === 0) await new Promise((r) => setTimeout(r, 5));
        await t.ingress.idle(30);
        // idle() came back although the request is still held: it gave up rather than waiting for it.
        assert.equal(settled, false);
        t.close();
        await stuck;
      } finally {
        t.close();
      }
    });

    it('503 overloaded beyond server.maxConnections requests in flight', async () => {
      const t = await startIngress({ server: { maxConnections: 1 } });
      try {
        let release!: () => void;
        t.handoff.behaviour = () => new Promise<void>((r) => (release = r));
        const first = post(t.url, '{"eventName":"x"}');
        while (t.handoff.events.length === 0) await new Promise((r) => setTimeout(r, 5));
        const second = await post(t.url, '{"eventName":"x"}');
        assert.equal(second.status, 503);
        assert.equal(errorCodeOf(second.text), 'overloaded');
        assert.ok(second.headers['retry-after']);
        release();
        assert.equal((await first).status, 200);
        t.handoff.behaviour = async () => {};
        assert.equal((await post(t.url, '{"eventName":"x"}')).status, 200);
      } finally {
        t.close();
      }
    });
  });

  test('a second ingress on a port already in use fails to listen instead of sharing it (no SO_REUSEPORT split)', async (t) => {
    const first = await startIngress();
    t.after(() => first.close());
    await assert.rejects(startIngress({ server: { port: first.port } }), /cannot listen/);
    // The first one still serves.
    const res = await request(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"eventName":"emailOpen"}',
    });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
  });
});
