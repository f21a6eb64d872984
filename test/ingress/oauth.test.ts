import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenIssuer, handleTokenRequest } from '../../src/ingress/oauth.ts';

const FORM = 'application/x-www-form-urlencoded';
const cfg = {
  clients: [
    { id: 'iterable', secret: 's3cret' },
    { id: 'other', secret: 'x' },
  ],
  tokenTtlMs: 3_600_000,
};
const basic = (id: string, secret: string) => 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64');
const form = (s: string) => Buffer.from(s);

describe('TokenIssuer', () => {
  it('verifies its own tokens until they expire', () => {
    let now = 5_000;
    const issuer = new TokenIssuer(cfg, () => now);
    const { token, expiresInSeconds } = issuer.issue('iterable');
    assert.equal(expiresInSeconds, 3600);
    assert.equal(issuer.verify(token), true);
    now += 3_599_999;
    assert.equal(issuer.verify(token), true);
    now += 1;
    assert.equal(issuer.verify(token), false);
  });
  it('refuses forged, tampered and foreign tokens', () => {
    const issuer = new TokenIssuer(cfg);
    const { token } = issuer.issue('iterable');
    const [prefix, payload, sig] = token.split('.') as [string, string, string];
    const forgedPayload = Buffer.from(JSON.stringify({ c: 'iterable', exp: Date.now() + 1e12 })).toString('base64url');
    assert.equal(issuer.verify(`${prefix}.${forgedPayload}.${sig}`), false);
    assert.equal(issuer.verify(`${prefix}.${payload}.${sig.slice(0, -2)}AA`), false);
    assert.equal(issuer.verify(`${prefix}.${payload}.`), false);
    assert.equal(issuer.verify(`${prefix}.${payload}`), false);
    assert.equal(issuer.verify(''), false);
    assert.equal(issuer.verify('x'.repeat(5000)), false);
    // Another process with a random key did not sign it.
    assert.equal(new TokenIssuer(cfg).verify(token), false);
  });
  it('shares tokens between issuers with the same signing key', () => {
    const keyed = { ...cfg, signingKey: 'k'.repeat(32) };
    assert.equal(new TokenIssuer(keyed).verify(new TokenIssuer(keyed).issue('other').token), true);
  });
  it('stops accepting tokens of clients removed from the config', () => {
    const keyed = { ...cfg, signingKey: 'k'.repeat(32) };
    const token = new TokenIssuer(keyed).issue('other').token;
    assert.equal(new TokenIssuer({ ...keyed, clients: [cfg.clients[0]!] }).verify(token), false);
  });
  it('authenticates clients by id and secret', () => {
    const issuer = new TokenIssuer(cfg);
    assert.equal(issuer.authenticateClient('iterable', 's3cret'), true);
    assert.equal(issuer.authenticateClient('iterable', 'x'), false);
    assert.equal(issuer.authenticateClient('nobody', 's3cret'), false);
  });
});

describe('handleTokenRequest', () => {
  const issuer = new TokenIssuer(cfg);
  it('issues a token to a client using HTTP Basic', () => {
    const out = handleTokenRequest(issuer, basic('iterable', 's3cret'), FORM, form('grant_type=client_credentials'));
    assert.equal(out.status, 200);
    const body = JSON.parse(out.body);
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.expires_in, 3600);
    assert.equal(issuer.verify(body.access_token), true);
  });
  it('issues a token to a client using form fields (charset parameter allowed)', () => {
    const out = handleTokenRequest(
      issuer,
      '',
      `${FORM}; charset=UTF-8`,
      form('grant_type=client_credentials&client_id=iterable&client_secret=s3cret'),
    );
    assert.equal(out.status, 200);
    assert.equal(issuer.verify(JSON.parse(out.body).access_token), true);
  });
  it('decodes form-urlencoded Basic credentials (RFC 6749 2.3.1)', () => {
    const special = new TokenIssuer({ clients: [{ id: 'a b', secret: 'p:w+d' }], tokenTtlMs: 1000 });
    const out = handleTokenRequest(
      special,
      basic('a+b', encodeURIComponent('p:w+d')),
      FORM,
      form('grant_type=client_credentials'),
    );
    assert.equal(out.status, 200);
  });
  it('also accepts Basic credentials sent raw, as curl -u and most clients do (a base64 secret with + and /)', () => {
    const special = new TokenIssuer({ clients: [{ id: 'cid', secret: 'ab+c/d==' }], tokenTtlMs: 1000 });
    const out = handleTokenRequest(special, basic('cid', 'ab+c/d=='), FORM, form('grant_type=client_credentials'));
    assert.equal(out.status, 200);
    const wrong = handleTokenRequest(special, basic('cid', 'ab c/d=='), FORM, form('grant_type=client_credentials'));
    assert.equal(wrong.status, 401);
  });
  const cases: [string, string, string, string, number, string][] = [
    ['wrong secret (Basic)', basic('iterable', 'nope'), FORM, 'grant_type=client_credentials', 401, 'invalid_client'],
    [
      'wrong secret (form)',
      '',
      FORM,
      'grant_type=client_credentials&client_id=iterable&client_secret=nope',
      401,
      'invalid_client',
    ],
    ['unknown client', basic('who', 's3cret'), FORM, 'grant_type=client_credentials', 401, 'invalid_client'],
    ['no client auth', '', FORM, 'grant_type=client_credentials', 401, 'invalid_client'],
    ['wrong grant', basic('iterable', 's3cret'), FORM, 'grant_type=password', 400, 'unsupported_grant_type'],
    ['missing grant', basic('iterable', 's3cret'), FORM, '', 400, 'invalid_request'],
    [
      'JSON body',
      basic('iterable', 's3cret'),
      'application/json',
      '{"grant_type":"client_credentials"}',
      400,
      'invalid_request',
    ],
    [
      'two auth methods',
      basic('iterable', 's3cret'),
      FORM,
      'grant_type=client_credentials&client_id=iterable&client_secret=s3cret',
      400,
      'invalid_request',
    ],
  ];
  for (const [name, authz, ct, body, status, error] of cases) {
    it(`answers ${status} ${error} for ${name}`, () => {
      const out = handleTokenRequest(issuer, authz, ct, form(body));
      assert.equal(out.status, status);
      assert.equal(out.error, error);
      assert.equal(JSON.parse(out.body).error, error);
      if (status === 401) assert.equal(out.challenge, 'Basic realm="hookroute"');
    });
  }
});
