import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { JwtConfig } from '../../src/config/schema.ts';
import { UNKNOWN_KID_COOLDOWN_MS } from '../../src/ingress/jwks.ts';
import { JwtVerifier } from '../../src/ingress/jwt-verify.ts';
import { tokenKey } from '../../src/ingress/token-cache.ts';
import {
  AUDIENCE,
  ISSUER,
  JwksServer,
  forgeToken,
  makeKey,
  signToken,
  validClaims,
  waitFor,
  type TestKey,
} from '../fixtures/jwks-server.ts';

/** A logger whose lines the test can read. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

const config = (url: string, patch: Partial<JwtConfig> = {}): JwtConfig => ({
  jwksUrl: url,
  issuer: ISSUER,
  audience: [AUDIENCE],
  algorithms: ['RS256', 'ES256'],
  clockToleranceMs: 30_000,
  ...patch,
});

/** A verifier with movable clocks, started against `idp`. */
async function verifierFor(idp: JwksServer, patch: Partial<JwtConfig> = {}) {
  const clocks = { now: Date.now(), mono: 0 };
  const log = capturingLogger();
  const v = new JwtVerifier(config(idp.url, patch), {
    logger: log.logger,
    now: () => clocks.now,
    clock: () => clocks.mono,
  });
  await v.start();
  return { v, clocks, lines: log.lines };
}

describe('JwtVerifier', () => {
  let rsa: TestKey;
  let ec: TestKey;
  let idp: JwksServer;
  before(async () => {
    rsa = makeKey('RS256', 'rsa-1');
    ec = makeKey('ES256', 'ec-1');
    idp = await JwksServer.start([rsa, ec]);
  });
  after(() => idp.close());

  it('accepts RS256 and ES256 tokens whose iss, aud and times are right (aud may be a list)', async () => {
    const { v } = await verifierFor(idp);
    try {
      assert.equal(await v.verify(await signToken(rsa)), true);
      assert.equal(await v.verify(await signToken(ec)), true);
      assert.equal(await v.verify(await signToken(rsa, { aud: ['other', AUDIENCE] })), true);
      // Within the clock tolerance.
      const now = Math.floor(Date.now() / 1000);
      assert.equal(await v.verify(await signToken(rsa, { iat: now - 100, exp: now - 10 })), true);
    } finally {
      v.close();
    }
  });

  it('refuses each kind of bad token with its own reason', async () => {
    const { v, lines } = await verifierFor(idp);
    const now = Math.floor(Date.now() / 1000);
    const publicPem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const good = await signToken(rsa);
    const [h, p, sig] = good.split('.');
    const flipped = `${sig![0] === 'A' ? 'B' : 'A'}${sig!.slice(1)}`;
    const cases: [string, string, string][] = [
      ['expired', await signToken(rsa, { exp: now - 120 }), 'token_expired'],
      ['not yet valid', await signToken(rsa, { nbf: now + 600 }), 'token_not_yet_valid'],
      ['wrong audience', await signToken(ec, { aud: 'api://other' }), 'token_wrong_audience'],
      ['wrong issuer', await signToken(rsa, { iss: 'https://evil.test' }), 'token_wrong_issuer'],
      ['missing exp', await signToken(rsa, { exp: null }), 'token_claims_invalid'],
      ['iat in the future', await signToken(rsa, { iat: now + 600, exp: now + 900 }), 'token_claims_invalid'],
      ['corrupted signature', `${h}.${p}.${flipped}`, 'token_bad_signature'],
      [
        'payload swapped',
        `${h}.${Buffer.from(JSON.stringify({ ...validClaims(), sub: 'x' })).toString('base64url')}.${sig}`,
        'token_bad_signature',
      ],
      ['alg none', forgeToken({ alg: 'none', kid: rsa.kid }, validClaims()), 'token_algorithm_refused'],
      [
        'HS256 keyed with the public key (PEM)',
        forgeToken({ alg: 'HS256', kid: rsa.kid }, validClaims(), publicPem),
        'token_algorithm_refused',
      ],
      [
        'HS256 keyed with the JWK modulus',
        forgeToken({ alg: 'HS256', kid: rsa.kid }, validClaims(), String(rsa.jwk.n)),
        'token_algorithm_refused',
      ],
      [
        'allowed list only: RS384',
        forgeToken({ alg: 'RS384', kid: rsa.kid }, validClaims(), 'x'),
        'token_algorithm_refused',
      ],
      ['not a JWT', 'hello.world', 'token_malformed'],
      ['header not JSON', `${Buffer.from('nope').toString('base64url')}.${p}.${sig}`, 'token_malformed'],
    ];
    try {
      for (const [name, token, reason] of cases) assert.equal(await v.verify(token), reason, name);
      const logged = lines.join('');
      for (const [name, token] of cases) assert.ok(!logged.includes(token), `${name}: token in the log`);
    } finally {
      v.close();
    }
  });

  it('caches a verified token until it expires, and answers a repeated refusal from the cache', async () => {
    const { v, clocks } = await verifierFor(idp);
    try {
      const exp = Math.floor(clocks.now / 1000) + 60;
      const token = await signToken(rsa, { exp });
      const key = tokenKey(token);
      assert.equal(v.cached(key), undefined);
      const first = v.verify(token, key);
      assert.equal(v.verify(token, key), first, 'concurrent checks of one token share one verification');
      assert.equal(await first, true);
      assert.equal(v.cached(key), true);
      clocks.now = (exp + 29) * 1000;
      assert.equal(v.cached(key), true, 'kept while exp + clockTolerance has not passed');
      clocks.now = (exp + 30) * 1000;
      assert.equal(v.cached(key), undefined, 'the cache entry ends when the token does (exp + clockTolerance)');
      assert.equal(await v.verify(token, key), 'token_expired');
      assert.equal(v.cached(key), 'token_expired');
      const notYet = await signToken(rsa, { nbf: Math.floor(clocks.now / 1000) + 600 });
      assert.equal(await v.verify(notYet), 'token_not_yet_valid');
      assert.equal(v.cached(tokenKey(notYet)), undefined, 'a refusal that can turn into acceptance is not cached');
    } finally {
      v.close();
    }
  });

  it('a new kid (rotation) is fetched and accepted; random kids cost at most one fetch per minute', async () => {
    const rotating = await JwksServer.start([makeKey('RS256', 'old')]);
    const { v, clocks } = await verifierFor(rotating);
    try {
      assert.equal(rotating.requests, 1);
      const next = makeKey('RS256', 'new');
      rotating.keys.push(next);
      assert.equal(await v.verify(await signToken(next)), true);
      assert.equal(rotating.requests, 2);
      // A burst of unknown kids within the cooldown: no fetch at all.
      const burst = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => v.verify(await signToken(makeKey('ES256', `rnd-${i}`)))),
      );
      assert.deepEqual(new Set(burst), new Set(['token_unknown_key']));
      assert.equal(rotating.requests, 2);
      // After the cooldown, a burst shares one fetch.
      clocks.mono += UNKNOWN_KID_COOLDOWN_MS;
      const strangers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => signToken({ ...next, kid: `stranger-${i}` })),
      );
      const verdicts = await Promise.all(strangers.map((t) => v.verify(t)));
      assert.deepEqual(new Set(verdicts), new Set(['token_unknown_key']));
      assert.equal(rotating.requests, 3);
      // A third key inside the new cooldown waits for it.
      const third = makeKey('ES256', 'third');
      rotating.keys.push(third);
      const early = await signToken(third);
      assert.equal(await v.verify(early), 'token_unknown_key');
      clocks.mono += UNKNOWN_KID_COOLDOWN_MS;
      assert.equal(await v.verify(early), true);
      assert.equal(rotating.requests, 4);
    } finally {
      v.close();
      await rotating.close();
    }
  });

  it('a key that leaves the JWKS stops verifying at once, cached tokens included', async () => {
    const a = makeKey('RS256', 'a');
    const b = makeKey('RS256', 'b');
    const server = await JwksServer.start([a, b]);
    const { v } = await verifierFor(server);
    try {
      const token = await signToken(a);
      assert.equal(await v.verify(token), true);
      server.keys.splice(0, 1);
      assert.equal(await v.keys.refresh('test'), true);
      assert.equal(v.cached(tokenKey(token)), undefined);
      assert.equal(await v.verify(token), 'token_unknown_key');
    } finally {
      v.close();
      await server.close();
    }
  });

  it('JWKS down: cached keys keep verifying; an unknown kid is 503-worthy (auth_unavailable), not the sender’s fault', async () => {
    const key = makeKey('ES256', 'k');
    const server = await JwksServer.start([key]);
    const { v, clocks, lines } = await verifierFor(server);
    try {
      server.down = true;
      assert.equal(await v.keys.refresh('test'), false);
      assert.equal(v.keys.reachable, false);
      assert.equal(await v.verify(await signToken(key)), true, 'a token never seen, signed by a cached key');
      clocks.mono += UNKNOWN_KID_COOLDOWN_MS;
      assert.equal(await v.verify(await signToken(makeKey('ES256', 'rotated-during-outage'))), 'auth_unavailable');
      assert.ok(lines.some((l) => l.includes('the cached keys keep working')));
    } finally {
      v.close();
      await server.close();
    }
  });

  it('a start without the JWKS refuses with auth_unavailable and retries in the background until it loads', async () => {
    const key = makeKey('RS256', 'late');
    const server = await JwksServer.start([key]);
    server.down = true;
    const { v, lines } = await verifierFor(server);
    try {
      assert.equal(v.keys.loaded, false);
      assert.ok(lines.some((l) => l.includes('"level":40') && l.includes('JWKS could not be loaded')));
      const token = await signToken(key);
      assert.equal(await v.verify(token), 'auth_unavailable');
      server.down = false;
      await waitFor(() => v.keys.loaded, 'the background retry to load the JWKS');
      assert.equal(await v.verify(token), true);
    } finally {
      v.close();
      await server.close();
    }
  });
});
