// Black-box tests of `auth.oauth2.jwt`: the real ingress verifying JWTs against a JWKS served on 127.0.0.1 with keys made here.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import type { Config } from '../../src/config/schema.ts';
import {
  AUDIENCE,
  ISSUER,
  JwksServer,
  forgeToken,
  makeKey,
  signToken,
  validClaims,
  type TestKey,
} from '../fixtures/jwks-server.ts';
import {
  counterValue,
  errorCodeOf,
  head,
  rawRequest,
  startIngress,
  type ConfigPatch,
  type TestIngress,
} from './ingress-harness.ts';

const EVENT = '{"eventName":"emailSend","email":"u@x.com"}';
const INVALID_TOKEN = 'Bearer realm="hookroute", error="invalid_token"';
type OAuth2 = NonNullable<Config['auth']['oauth2']>;

async function post(url: string, headers: Record<string, string>, body = EVENT) {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function jwtAuth(jwks: { jwksUrl?: string; jwksFile?: string }, extra: Partial<OAuth2> = {}): ConfigPatch {
  return {
    auth: {
      mode: 'oauth2',
      oauth2: {
        clients: [],
        tokenTtlMs: 3_600_000,
        jwt: {
          ...jwks,
          issuer: ISSUER,
          audience: [AUDIENCE],
          algorithms: ['RS256', 'ES256'],
          clockToleranceMs: 30_000,
        },
        ...extra,
      },
    },
  };
}

async function withIngress(patch: ConfigPatch, fn: (t: TestIngress) => Promise<void>): Promise<void> {
  const t = await startIngress(patch);
  try {
    await fn(t);
  } finally {
    t.close();
  }
}

describe('auth.oauth2.jwt against the real ingress', () => {
  let rsa: TestKey;
  let ec: TestKey;
  let idp: JwksServer;
  before(async () => {
    rsa = makeKey('RS256', 'rsa-1');
    ec = makeKey('ES256', 'ec-1');
    idp = await JwksServer.start([rsa, ec]);
  });
  after(() => idp.close());

  it('accepts RS256 and ES256 access tokens as Bearer and as OAuth2 (Iterable writes OAuth2)', () =>
    withIngress(jwtAuth({ jwksUrl: idp.url }), async (t) => {
      for (const key of [rsa, ec]) {
        const token = await signToken(key);
        for (const scheme of ['Bearer', 'OAuth2', 'oauth2']) {
          const res = await post(t.url, { authorization: `${scheme} ${token}` });
          assert.equal(res.status, 200, `${key.alg} ${scheme}: ${res.text}`);
        }
      }
      assert.equal(t.handoff.events.length, 6);
    }));

  it('refuses bad tokens with 401, WWW-Authenticate invalid_token and the reason, never echoing the token', () =>
    withIngress(jwtAuth({ jwksUrl: idp.url }), async (t) => {
      const now = Math.floor(Date.now() / 1000);
      const good = await signToken(rsa);
      const [h, p, sig] = good.split('.');
      const publicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      const cases: [string, string, string][] = [
        ['expired', await signToken(rsa, { exp: now - 3600, iat: now - 7200 }), 'token_expired'],
        ['not yet valid', await signToken(ec, { nbf: now + 3600 }), 'token_not_yet_valid'],
        ['wrong aud', await signToken(rsa, { aud: 'api://someone-else' }), 'token_wrong_audience'],
        ['wrong iss', await signToken(ec, { iss: 'https://evil.test/' }), 'token_wrong_issuer'],
        ['missing exp', await signToken(rsa, { exp: null }), 'token_claims_invalid'],
        ['corrupted signature', `${h}.${p}.${sig!.slice(0, -4)}AAAA`, 'token_bad_signature'],
        ['alg none', forgeToken({ alg: 'none', kid: rsa.kid }, validClaims()), 'token_algorithm_refused'],
        [
          'HS256 with the public key',
          forgeToken({ alg: 'HS256', kid: rsa.kid }, validClaims(), publicPem),
          'token_algorithm_refused',
        ],
        ['garbage', 'not-a-jwt', 'token_malformed'],
        ['oversized (refused before hashing)', `${h}.${'A'.repeat(9000)}.${sig}`, 'token_malformed'],
      ];
      for (const [name, token, reason] of cases) {
        for (let round = 0; round < 2; round++) {
          // The second round is answered from the refusal cache: the same answer.
          const res = await post(t.url, { authorization: `Bearer ${token}` });
          assert.equal(res.status, 401, name);
          assert.equal(res.headers['www-authenticate'], INVALID_TOKEN, name);
          assert.equal(errorCodeOf(res.text), reason, name);
          assert.ok(!res.text.includes(token), `${name}: token echoed`);
        }
      }
      const missing = await post(t.url, {});
      assert.equal(missing.status, 401);
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="hookroute"');
      assert.equal(errorCodeOf(missing.text), 'unauthorized');
      assert.equal(t.handoff.events.length, 0);
      const refusals = (reason: string) => counterValue(t.metrics, 'hookroute_ingress_auth_refusals_total', { reason });
      assert.equal(await refusals('token_algorithm_refused'), 4);
      assert.equal(await refusals('token_expired'), 2);
      assert.equal(await refusals('unauthorized'), 1);
    }));

  it('a rotated key (new kid) is accepted without a restart; a burst of unknown kids does not hammer the JWKS', async () => {
    const server = await JwksServer.start([makeKey('RS256', 'gen-1')]);
    try {
      await withIngress(jwtAuth({ jwksUrl: server.url }), async (t) => {
        assert.equal(server.requests, 1, 'fetched at start');
        const next = makeKey('ES256', 'gen-2');
        server.keys.push(next);
        assert.equal((await post(t.url, { authorization: `Bearer ${await signToken(next)}` })).status, 200);
        assert.equal(server.requests, 2, 'one fetch for the new kid');
        const tokens = await Promise.all(
          Array.from({ length: 40 }, (_, i) => signToken({ ...next, kid: `random-${i}` })),
        );
        const answers = await Promise.all(tokens.map((tok) => post(t.url, { authorization: `Bearer ${tok}` })));
        assert.deepEqual(new Set(answers.map((a) => errorCodeOf(a.text))), new Set(['token_unknown_key']));
        assert.equal(server.requests, 2, 'unknown kids within the minute fetch nothing');
      });
    } finally {
      await server.close();
    }
  });

  it('JWKS down: the cached keys keep working; a kid that cannot be looked up is a 503 with Retry-After', async () => {
    const key = makeKey('RS256', 'steady');
    const server = await JwksServer.start([key]);
    try {
      await withIngress(jwtAuth({ jwksUrl: server.url }), async (t) => {
        server.down = true;
        await t.ingress.reloadKeys();
        assert.equal(server.requests, 2);
        for (let i = 0; i < 3; i++) {
          const res = await post(t.url, { authorization: `Bearer ${await signToken(key, { jti: `t${i}` })}` });
          assert.equal(res.status, 200, res.text);
        }
        const unknown = await post(t.url, { authorization: `Bearer ${await signToken(makeKey('RS256', 'new'))}` });
        assert.equal(unknown.status, 503);
        assert.equal(unknown.headers['retry-after'], '10');
        assert.equal(errorCodeOf(unknown.text), 'auth_unavailable');
      });
    } finally {
      await server.close();
    }
  });

  it('the built-in token endpoint and JWT verification together: either kind of token passes', () =>
    withIngress(
      jwtAuth({ jwksUrl: idp.url }, { clients: [{ id: 'iterable', secret: 'cl1ent' }], signingKey: 'k'.repeat(32) }),
      async (t) => {
        const res = await request(`http://127.0.0.1:${t.port}/oauth/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from('iterable:cl1ent').toString('base64')}`,
          },
          body: 'grant_type=client_credentials',
        });
        assert.equal(res.statusCode, 200);
        const { access_token: builtIn } = (await res.body.json()) as { access_token: string };
        assert.equal((await post(t.url, { authorization: `Bearer ${builtIn}` })).status, 200);
        assert.equal((await post(t.url, { authorization: `OAuth2 ${await signToken(ec)}` })).status, 200);
        const forged = `${builtIn.slice(0, -3)}xyz`;
        const refused = await post(t.url, { authorization: `Bearer ${forged}` });
        assert.equal(refused.status, 401);
        assert.equal(t.handoff.events.length, 2);
      },
    ));

  it('without clients there is no token endpoint', () =>
    withIngress(jwtAuth({ jwksUrl: idp.url }), async (t) => {
      const res = await request(`http://127.0.0.1:${t.port}/oauth/token`, { method: 'POST', body: 'x' });
      assert.equal(res.statusCode, 404);
      await res.body.dump();
    }));

  it('a body that arrives while a new token is being verified is read; a refused one closes the connection', () =>
    withIngress(jwtAuth({ jwksUrl: idp.url }), async (t) => {
      const send = async (token: string) =>
        rawRequest(
          t.port,
          [
            head('/webhook', {
              'Content-Type': 'application/json',
              'Content-Length': EVENT.length,
              Authorization: `Bearer ${token}`,
            }),
            EVENT.slice(0, 10),
            EVENT.slice(10),
          ],
          { gapMs: 30 },
        );
      const ok = await send(await signToken(rsa, { jti: 'slow-body' }));
      assert.equal(ok.status, 200, ok.body);
      assert.equal(t.handoff.events.at(-1)?.raw.toString(), EVENT);
      const bad = await send(await signToken(rsa, { aud: 'nope', jti: 'slow-bad' }));
      assert.equal(bad.status, 401);
      assert.equal(errorCodeOf(bad.body), 'token_wrong_audience');
      assert.equal(t.handoff.events.length, 1);
    }));

  it('jwksFile: keys from disk, read again by reloadKeys (SIGHUP and admin reload)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hookroute-jwt-'));
    const file = join(dir, 'jwks.json');
    const first = makeKey('ES256', 'file-1');
    const second = makeKey('RS256', 'file-2');
    await writeFile(file, JSON.stringify({ keys: [first.jwk] }));
    try {
      await withIngress(jwtAuth({ jwksFile: file }), async (t) => {
        assert.equal((await post(t.url, { authorization: `Bearer ${await signToken(first)}` })).status, 200);
        await writeFile(file, JSON.stringify({ keys: [second.jwk] }));
        await t.ingress.reloadKeys();
        assert.equal((await post(t.url, { authorization: `Bearer ${await signToken(second)}` })).status, 200);
        const old = await post(t.url, { authorization: `Bearer ${await signToken(first, { jti: 'after' })}` });
        assert.equal(old.status, 401, 'a key removed from the file no longer verifies');
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
