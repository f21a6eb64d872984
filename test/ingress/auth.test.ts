import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import { createAuthenticator } from '../../src/ingress/auth.ts';
import { TokenIssuer } from '../../src/ingress/oauth.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const auth = (a: Partial<Config['auth']>): Config['auth'] => ({ mode: 'none', allowIps: [], ...a });

describe('createAuthenticator', () => {
  it('none: everything passes and there is no challenge', () => {
    const a = createAuthenticator(auth({}));
    assert.equal(a.challenge, undefined);
    assert.equal(a.check('', ''), true);
  });

  describe('basic', () => {
    const a = createAuthenticator(auth({ mode: 'basic', basic: { username: 'iterable', password: 's3cr:et' } }));
    it('challenges with Basic', () => assert.equal(a.challenge, 'Basic realm="hookroute"'));
    const good = [
      'Basic ' + b64('iterable:s3cr:et'),
      'basic ' + b64('iterable:s3cr:et'),
      b64('iterable:s3cr:et'),
      'iterable:s3cr:et',
      'Basic iterable:s3cr:et',
    ];
    for (const h of good) it(`accepts ${JSON.stringify(h)}`, () => assert.equal(a.check(h, ''), true));
    const bad = [
      '',
      'Basic ' + b64('iterable:wrong'),
      'Basic ' + b64('other:s3cr:et'),
      'iterable:s3cr:e',
      'Bearer ' + b64('x:y'),
      'Bearer ' + b64('iterable:s3cr:et'),
      'Basic ' + b64('iterable:s3cr:et') + 'x',
      'Basic ',
      'x'.repeat(5000),
    ];
    for (const h of bad)
      it(`refuses ${JSON.stringify(h.slice(0, 40))}`, () => assert.equal(a.check(h, ''), 'unauthorized'));
    it('throws when credentials are missing', () =>
      assert.throws(() => createAuthenticator(auth({ mode: 'basic' })), /auth.basic/));
  });

  describe('token', () => {
    const a = createAuthenticator(auth({ mode: 'token', token: { value: 'tok-123', header: 'X-Webhook-Token' } }));
    it('reads the custom header in lowercase', () => assert.equal(a.extraHeader, 'x-webhook-token'));
    for (const h of ['Bearer tok-123', 'bearer tok-123', 'OAuth2 tok-123', 'tok-123', 'Token tok-123']) {
      it(`accepts Authorization ${JSON.stringify(h)}`, () => assert.equal(a.check(h, ''), true));
    }
    it('accepts the custom header', () => assert.equal(a.check('', 'tok-123'), true));
    it('refuses wrong or missing tokens', () => {
      assert.equal(a.check('', ''), 'unauthorized');
      assert.equal(a.check('Bearer tok-1234', ''), 'unauthorized');
      assert.equal(a.check('', 'tok-12'), 'unauthorized');
      assert.equal(a.check('Basic ' + b64('a:tok-123'), 'nope'), 'unauthorized');
    });
    it('accepts a token that itself contains a space', () => {
      const spaced = createAuthenticator(auth({ mode: 'token', token: { value: 'Bearer abc' } }));
      assert.equal(spaced.extraHeader, undefined);
      assert.equal(spaced.check('Bearer abc', ''), true);
    });
  });

  describe('oauth2', () => {
    const cfg = { clients: [{ id: 'iterable', secret: 'cs' }], tokenTtlMs: 60_000 };
    let now = 1_000_000;
    const issuer = new TokenIssuer(cfg, () => now);
    const a = createAuthenticator(auth({ mode: 'oauth2', oauth2: cfg }), issuer);
    it('accepts issued tokens as Bearer or OAuth2, until they expire', () => {
      const { token } = issuer.issue('iterable');
      assert.equal(a.challenge, 'Bearer realm="hookroute"');
      assert.equal(a.check(`Bearer ${token}`, ''), true);
      assert.equal(a.check(`OAuth2 ${token}`, ''), true);
      assert.equal(a.check(token, ''), 'unauthorized');
      now += 60_001;
      assert.equal(a.check(`Bearer ${token}`, ''), 'unauthorized');
    });
    it('throws without an issuer', () =>
      assert.throws(() => createAuthenticator(auth({ mode: 'oauth2' })), /auth.oauth2/));
  });
});
