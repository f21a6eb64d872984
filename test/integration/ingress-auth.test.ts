// Black-box tests of ingress authentication: basic, token, oauth2 (with the token endpoint) and IPv4/IPv6 allowlists.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { TokenIssuer } from '../../src/ingress/oauth.ts';
import { errorCodeOf, forEachEngine, head, rawRequest, type ConfigPatch, type TestIngress } from './ingress-harness.ts';

const EVENT = '{"eventName":"emailSend","email":"u@x.com"}';
// Detected once: IPv6 cases run wherever ::1 can be bound (they assert the detection result otherwise).
const ipv6 = await canListen('::1');
type H = Record<string, string>;
const b64 = (s: string) => Buffer.from(s).toString('base64');

async function post(url: string, headers: Record<string, string>, body = EVENT) {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

forEachEngine(({ startIngress }) => {
  async function withIngress(patch: ConfigPatch, fn: (t: TestIngress) => Promise<void>): Promise<void> {
    const t = await startIngress(patch);
    try {
      await fn(t);
    } finally {
      t.close();
    }
  }

  async function expect401(url: string, headers: Record<string, string>, challenge: string) {
    const res = await post(url, headers);
    assert.equal(res.status, 401, JSON.stringify(headers));
    assert.equal(res.headers['www-authenticate'], challenge);
    assert.equal(errorCodeOf(res.text), 'unauthorized');
  }

  describe('auth mode basic', () => {
    it('accepts the standard and the raw Iterable forms, refuses wrong and missing credentials', () =>
      withIngress({ auth: { mode: 'basic', basic: { username: 'iterable', password: 'pa:ss' } } }, async (t) => {
        for (const authorization of [`Basic ${b64('iterable:pa:ss')}`, b64('iterable:pa:ss'), 'iterable:pa:ss']) {
          assert.equal((await post(t.url, { authorization })).status, 200, authorization);
        }
        for (const headers of [
          {} as H,
          { authorization: `Basic ${b64('iterable:nope')}` },
          { authorization: `Bearer ${b64('iterable:pa:ss')}x` },
        ]) {
          await expect401(t.url, headers, 'Basic realm="hookroute"');
        }
        assert.equal(t.handoff.events.length, 3);
      }));
  });

  describe('auth mode token', () => {
    it('accepts Bearer, OAuth2, bare and the custom header; refuses wrong and missing', () =>
      withIngress({ auth: { mode: 'token', token: { value: 'tok-abc', header: 'X-Hook-Token' } } }, async (t) => {
        for (const headers of [
          { authorization: 'Bearer tok-abc' } as H,
          { authorization: 'OAuth2 tok-abc' },
          { authorization: 'tok-abc' },
          { 'x-hook-token': 'tok-abc' },
        ]) {
          assert.equal((await post(t.url, headers)).status, 200, JSON.stringify(headers));
        }
        for (const headers of [
          {} as H,
          { authorization: 'Bearer tok-abd' },
          { 'x-hook-token': 'tok' },
          { 'x-other': 'tok-abc' },
        ]) {
          await expect401(t.url, headers, 'Bearer realm="hookroute"');
        }
      }));
  });

  describe('early refusals and the connection', () => {
    it('a refused request with a small body keeps the connection: the next pipelined request is answered', () =>
      withIngress({ auth: { mode: 'token', token: { value: 'tok' } } }, async (t) => {
        const one = (auth: Record<string, string>) =>
          head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': EVENT.length, ...auth }) + EVENT;
        const res = await rawRequest(t.port, [one({}) + one({ Authorization: 'Bearer tok' })], { waitMs: 300 });
        assert.equal(res.status, 401);
        assert.match(res.body, /HTTP\/1\.1 200 OK[\s\S]*\{"ok":true\}$/);
        assert.equal(t.handoff.events.length, 1);
      }));

    it('a refused request announcing a body over the limit is answered and the connection closed', () =>
      withIngress({ auth: { mode: 'token', token: { value: 'tok' } } }, async (t) => {
        const res = await rawRequest(t.port, [
          head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': 1_000_000 }),
        ]);
        assert.equal(res.status, 401);
        assert.equal(res.closed, true);
      }));
  });

  describe('auth mode oauth2', () => {
    const oauth2 = {
      clients: [{ id: 'iterable', secret: 'cl1ent-secret' }],
      tokenTtlMs: 3_600_000,
      signingKey: 'test-signing-key-0123456789',
    };
    const tokenUrl = (t: TestIngress) => `http://127.0.0.1:${t.port}/oauth/token`;
    const getToken = async (t: TestIngress, headers: Record<string, string>, body: string) => {
      const res = await request(tokenUrl(t), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
      return { status: res.statusCode, headers: res.headers, json: (await res.body.json()) as Record<string, unknown> };
    };

    it('issues tokens by Basic client auth and by form fields; issued tokens pass as Bearer and OAuth2', () =>
      withIngress({ auth: { mode: 'oauth2', oauth2 } }, async (t) => {
        const byBasic = await getToken(
          t,
          { authorization: `Basic ${b64('iterable:cl1ent-secret')}` },
          'grant_type=client_credentials',
        );
        assert.equal(byBasic.status, 200);
        assert.equal(byBasic.json.token_type, 'Bearer');
        assert.equal(byBasic.json.expires_in, 3600);
        assert.equal(byBasic.headers['cache-control'], 'no-store');
        const byForm = await getToken(
          t,
          {},
          'grant_type=client_credentials&client_id=iterable&client_secret=cl1ent-secret',
        );
        assert.equal(byForm.status, 200);
        assert.equal((await post(t.url, { authorization: `Bearer ${byBasic.json.access_token}` })).status, 200);
        assert.equal((await post(t.url, { authorization: `OAuth2 ${byForm.json.access_token}` })).status, 200);
      }));

    it('token endpoint errors follow RFC 6749 5.2', () =>
      withIngress({ auth: { mode: 'oauth2', oauth2 } }, async (t) => {
        const wrong = await getToken(
          t,
          { authorization: `Basic ${b64('iterable:wrong')}` },
          'grant_type=client_credentials',
        );
        assert.equal(wrong.status, 401);
        assert.equal(wrong.json.error, 'invalid_client');
        assert.ok(wrong.headers['www-authenticate']);
        const grant = await getToken(
          t,
          { authorization: `Basic ${b64('iterable:cl1ent-secret')}` },
          'grant_type=password',
        );
        assert.equal(grant.status, 400);
        assert.equal(grant.json.error, 'unsupported_grant_type');
        const get = await request(tokenUrl(t), { method: 'GET' });
        assert.equal(get.statusCode, 405);
        await get.body.dump();
      }));

    it('refuses missing, forged and expired tokens with 401 Bearer', () =>
      withIngress({ auth: { mode: 'oauth2', oauth2 } }, async (t) => {
        const forged = new TokenIssuer({ ...oauth2, signingKey: 'another-key-entirely-xxxxxxxx' }).issue(
          'iterable',
        ).token;
        const expired = new TokenIssuer(oauth2, () => Date.now() - 2 * oauth2.tokenTtlMs).issue('iterable').token;
        const valid = new TokenIssuer(oauth2).issue('iterable').token;
        assert.equal((await post(t.url, { authorization: `Bearer ${valid}` })).status, 200, 'same key, fresh: valid');
        for (const headers of [
          {} as H,
          { authorization: `Bearer ${forged}` },
          { authorization: `Bearer ${expired}` },
          { authorization: 'Bearer not-a-token' },
        ]) {
          await expect401(t.url, headers, 'Bearer realm="hookroute"');
        }
      }));

    it('the token endpoint exists only in oauth2 mode', () =>
      withIngress({}, async (t) => {
        const res = await request(`http://127.0.0.1:${t.port}/oauth/token`, {
          method: 'POST',
          body: 'grant_type=client_credentials',
        });
        assert.equal(res.statusCode, 404);
        await res.body.dump();
      }));
  });

  describe('allowIps and trustProxy', () => {
    it('IPv4: allows listed sources, 403 for others', async () => {
      await withIngress({ auth: { allowIps: ['127.0.0.0/8'] } }, async (t) =>
        assert.equal((await post(t.url, {})).status, 200),
      );
      await withIngress({ auth: { allowIps: ['10.0.0.0/8', '2001:db8::/32'] } }, async (t) => {
        const res = await post(t.url, {});
        assert.equal(res.status, 403);
        assert.equal(errorCodeOf(res.text), 'forbidden');
        // X-Forwarded-For is ignored without trustProxy.
        assert.equal((await post(t.url, { 'x-forwarded-for': '10.1.2.3' })).status, 403);
      });
    });

    it('honours X-Forwarded-For from a trusted proxy, right-most untrusted hop', () =>
      withIngress({ server: { trustProxy: ['127.0.0.1'] }, auth: { allowIps: ['10.0.0.0/8'] } }, async (t) => {
        assert.equal((await post(t.url, { 'x-forwarded-for': '10.1.2.3' })).status, 200);
        assert.equal(
          (await post(t.url, { 'x-forwarded-for': '10.1.2.3, 203.0.113.7' })).status,
          403,
          'spoofed left-most hop',
        );
        assert.equal((await post(t.url, { 'x-forwarded-for': '203.0.113.7, 10.1.2.3, 127.0.0.1' })).status, 200);
        assert.equal((await post(t.url, {})).status, 403, 'the proxy itself is not allowed');
      }));

    it('auth failures come after the IP check: a forbidden source gets 403 even with good credentials', () =>
      withIngress({ auth: { mode: 'token', token: { value: 't' }, allowIps: ['10.0.0.0/8'] } }, async (t) => {
        assert.equal((await post(t.url, { authorization: 'Bearer t' })).status, 403);
      }));

    it('IPv6 on ::1', async () => {
      assert.ok(ipv6, 'IPv6 loopback ::1 is needed for this test and cannot be listened on here');
      await withIngress({ server: { host: '::1' }, auth: { allowIps: ['::1/128'] } }, async (t) =>
        assert.equal((await post(t.url, {})).status, 200),
      );
      await withIngress({ server: { host: '::1' }, auth: { allowIps: ['2001:db8::/32', '127.0.0.1'] } }, async (t) =>
        assert.equal((await post(t.url, {})).status, 403),
      );
      await withIngress(
        { server: { host: '::1', trustProxy: ['::1'] }, auth: { allowIps: ['2001:db8::/32'] } },
        async (t) => {
          assert.equal((await post(t.url, { 'x-forwarded-for': '2001:db8::42' })).status, 200);
        },
      );
    });

    it('dual-stack listener: an IPv4 client arrives as ::ffff:127.0.0.1 and matches an IPv4 CIDR', async () => {
      assert.ok(ipv6, 'IPv6 loopback ::1 is needed for this test and cannot be listened on here');
      await withIngress({ server: { host: '::' }, auth: { allowIps: ['127.0.0.1/32'] } }, async (t) => {
        assert.equal((await post(`http://127.0.0.1:${t.port}/webhook`, {})).status, 200);
      });
      await withIngress({ server: { host: '::' }, auth: { allowIps: ['::1'] } }, async (t) => {
        assert.equal((await post(`http://127.0.0.1:${t.port}/webhook`, {})).status, 403);
      });
    });
  });
});

function canListen(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(0, host, () => s.close(() => resolve(true)));
  });
}
