// Hostile clients against the real ingress: truncated, slow, deep, huge, malformed and many; each gets a clear answer and serving goes on.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { errorCodeOf, forEachEngine, head, rawRequest, type TestIngress } from './ingress-harness.ts';

const JSON_CT = { 'content-type': 'application/json' };

forEachEngine(({ startIngress }) => {
  describe('ingress under hostile input', () => {
    let t: TestIngress;
    before(async () => {
      t = await startIngress({ server: { maxBodyBytes: 1024 * 1024 } });
    });
    after(() => t.close());

    /** The server still answers a normal request. */
    async function stillServes(): Promise<void> {
      const res = await request(t.url, { method: 'POST', headers: JSON_CT, body: '{"eventName":"emailSend"}' });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    }

    it('truncated body (client sends less than Content-Length, then closes): nothing handed off, no crash', async () => {
      const count = t.handoff.events.length;
      const res = await rawRequest(
        t.port,
        [head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': 100 }), '{"eventName":"emai'],
        { endAfter: true, waitMs: 500 },
      );
      assert.equal(res.status, 0, 'no answer to a request that never completed');
      assert.equal(t.handoff.events.length, count);
      await t.ingress.idle(1000);
      await stillServes();
    });

    it('slow body (chunks 40 ms apart) within the limit is accepted', async () => {
      const body = '{"eventName":"emailOpen","dataFields":{"campaignId":1}}';
      const parts = [
        head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': body.length }),
        ...body.match(/.{1,10}/g)!,
      ];
      const res = await rawRequest(t.port, parts, { gapMs: 40, waitMs: 5000, keepAlive: true });
      assert.equal(res.status, 200, res.body);
      assert.equal(t.handoff.events.at(-1)!.raw.toString(), body);
    });

    it('100k levels of nesting: 400, and the server keeps serving', async () => {
      for (const body of [
        '{"eventName":"x","a":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}',
        '['.repeat(100_000) + ']'.repeat(100_000),
        '{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000),
      ]) {
        const res = await request(t.url, { method: 'POST', headers: JSON_CT, body });
        assert.equal(res.statusCode, 400);
        assert.equal(errorCodeOf(await res.body.text()), 'json_too_deep');
      }
      await stillServes();
    });

    it('__proto__ and constructor keys are plain data: accepted, stored as sent, nothing polluted', async () => {
      const body =
        '{"eventName":"emailSend","__proto__":{"isAdmin":true},"constructor":{"prototype":{"isAdmin":true}},"dataFields":{"__proto__":{"x":1}}}';
      const res = await request(t.url, { method: 'POST', headers: JSON_CT, body });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      const event = t.handoff.events.at(-1)!;
      assert.equal(event.raw.toString(), body);
      assert.equal(Object.getPrototypeOf(event.body), Object.prototype);
      assert.ok(Object.hasOwn(event.body, '__proto__'));
      assert.equal((event.body as { isAdmin?: unknown }).isAdmin, undefined);
      assert.equal(({} as { isAdmin?: unknown }).isAdmin, undefined);
    });

    it('headers over server.maxHeaderBytes get 431 and a closed connection', async () => {
      const res = await rawRequest(t.port, [
        head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': 2, 'X-Big': 'a'.repeat(20_000) }) +
          '{}',
      ]);
      assert.equal(res.status, 431);
      assert.equal(errorCodeOf(res.body), 'headers_too_large');
      assert.equal(res.closed, true);
      await stillServes();
    });

    it('a header far beyond what uWS buffers (2 MiB) ends the connection, and the server keeps serving', async () => {
      const res = await rawRequest(t.port, [head('/webhook', { 'X-Huge': 'a'.repeat(2 * 1024 * 1024) })], {
        waitMs: 3000,
      });
      assert.equal(res.closed, true);
      assert.ok(res.status === 0 || res.status === 431, `status ${res.status}`);
      await stillServes();
    });

    it('a malformed Content-Length is refused and the server keeps serving', async () => {
      const res = await rawRequest(
        t.port,
        [head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': '12abc' }) + '{"eventName":"x"}'],
        { waitMs: 1000 },
      );
      assert.ok(res.status === 0 || res.status === 400, `status ${res.status}`);
      assert.equal(res.closed, true);
      await stillServes();
    });

    it('a client that aborts while its event is being stored does not crash anything', async () => {
      let release!: () => void;
      t.handoff.behaviour = () => new Promise<void>((r) => (release = r));
      const count = t.handoff.events.length;
      const controller = new AbortController();
      const pending = request(t.url, {
        method: 'POST',
        headers: JSON_CT,
        body: '{"eventName":"emailSend"}',
        signal: controller.signal,
      }).catch((e: Error) => e);
      while (t.handoff.events.length === count) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      assert.ok((await pending) instanceof Error);
      let idle = false;
      const idlePromise = t.ingress.idle(60_000).then(() => (idle = true));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(idle, false, 'the hand-off still runs, so the request is still in flight');
      release();
      await idlePromise;
      t.handoff.behaviour = async () => {};
      await stillServes();
    });

    it('1,000 concurrent connections each get an answer, and the server serves afterwards', async () => {
      const count = t.handoff.events.length;
      const one = (i: number) =>
        new Promise<number>((resolve, reject) => {
          const body = `{"eventName":"emailSend","n":${i}}`;
          const req = http.request(
            t.url,
            { method: 'POST', agent: false, headers: { ...JSON_CT, 'content-length': body.length } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      const statuses = await Promise.all(Array.from({ length: 1000 }, (_, i) => one(i)));
      assert.deepEqual(new Set(statuses), new Set([200]));
      assert.equal(t.handoff.events.length, count + 1000);
      await stillServes();
    });
  });
});
