import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/log.ts';
import { JwksStore, MAX_JWKS_BYTES, MAX_JWKS_KEYS, parseJwks, refreshInterval } from '../../src/ingress/jwks.ts';
import { JwksServer, makeKey, waitFor, type TestKey } from '../fixtures/jwks-server.ts';

describe('parseJwks', () => {
  const rsa = makeKey('RS256', 'r').jwk;
  it('keeps public signing keys only: no oct (HMAC), no private material, no encryption keys', () => {
    const keys = parseJwks(
      JSON.stringify({
        keys: [
          rsa,
          { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
          { ...rsa, kid: 'with-private', d: 'AAAA' },
          { ...rsa, kid: 'enc', use: 'enc' },
          null,
          'junk',
        ],
      }),
    );
    assert.deepEqual(
      keys.map((k) => k.kid),
      ['r'],
    );
  });
  it('refuses documents that are not a JWKS or hold no usable key, and keeps at most MAX_JWKS_KEYS', () => {
    assert.throws(() => parseJwks('nope'), /not valid JSON/);
    assert.throws(() => parseJwks('{"kys":[]}'), /no "keys" list/);
    assert.throws(() => parseJwks('null'), /no "keys" list/);
    assert.throws(() => parseJwks('{"keys":[{"kty":"oct","k":"eA"}]}'), /no public signing key/);
    const many = Array.from({ length: MAX_JWKS_KEYS + 5 }, (_, i) => ({ ...rsa, kid: `k${i}` }));
    assert.equal(parseJwks(JSON.stringify({ keys: many })).length, MAX_JWKS_KEYS);
  });
});

describe('refreshInterval', () => {
  it('follows max-age within one minute and one day; no-cache means the minimum; no header means 10 minutes', () => {
    assert.equal(refreshInterval({ 'cache-control': 'public, max-age=3600' }), 3_600_000);
    assert.equal(refreshInterval({ 'cache-control': 'max-age=5' }), 60_000);
    assert.equal(refreshInterval({ 'cache-control': 'max-age=9999999' }), 86_400_000);
    assert.equal(refreshInterval({ 'cache-control': 'no-cache' }), 60_000);
    assert.equal(refreshInterval({ expires: new Date(Date.now() + 7_200_000).toUTCString() }) > 7_000_000, true);
    assert.equal(refreshInterval({}), 600_000);
  });
});

describe('JwksStore', () => {
  let key: TestKey;
  let idp: JwksServer;
  before(async () => {
    key = makeKey('ES256', 'e1');
    idp = await JwksServer.start([key]);
  });
  after(() => idp.close());

  it('refuses a plain-http URL to anything but loopback, and URLs with credentials', () => {
    assert.throws(() => new JwksStore({ url: 'http://10.0.0.1/keys', logger: silentLogger }), /https/);
    assert.throws(() => new JwksStore({ url: 'https://u:p@idp.test/keys', logger: silentLogger }), /credentials/);
    assert.throws(() => new JwksStore({ url: 'ftp://127.0.0.1/keys', logger: silentLogger }), /https/);
    for (const url of ['https://10.0.0.1/keys', 'http://127.0.0.1:1/k', 'http://[::1]:1/k', 'http://localhost:1/k'])
      assert.doesNotThrow(() => new JwksStore({ url, logger: silentLogger }).close(), url);
  });

  it('a JWKS larger than the limit is not loaded, announced or not', async () => {
    const big = JSON.stringify({ keys: [key.jwk], pad: 'x'.repeat(MAX_JWKS_BYTES) });
    for (const chunked of [false, true]) {
      const server = await JwksServer.start([key]);
      server.body = big;
      if (chunked) server.headers = { 'transfer-encoding': 'chunked' };
      const store = new JwksStore({ url: server.url, logger: silentLogger });
      try {
        await store.start();
        assert.equal(store.loaded, false, chunked ? 'chunked' : 'with content-length');
        assert.equal(store.reachable, false);
      } finally {
        store.close();
        await server.close();
      }
    }
  });

  it('does not follow redirects (the configured URL is the only source of keys)', async () => {
    const server = await JwksServer.start([key]);
    server.status = 302;
    server.headers = { location: idp.url };
    const store = new JwksStore({ url: server.url, logger: silentLogger });
    try {
      await store.start();
      assert.equal(store.loaded, false);
      assert.equal(idp.requests, 0);
    } finally {
      store.close();
      await server.close();
    }
  });

  it('revalidates with If-None-Match: a 304 keeps the keys', async () => {
    const server = await JwksServer.start([key]);
    server.headers = { etag: '"v1"', 'cache-control': 'max-age=600' };
    const store = new JwksStore({ url: server.url, logger: silentLogger });
    let changes = 0;
    const counted = new JwksStore({ url: server.url, logger: silentLogger, onChange: () => changes++ });
    try {
      await store.start();
      await counted.start();
      assert.equal(changes, 1);
      server.status = 304;
      server.body = '';
      assert.equal(await counted.refresh('test'), false);
      assert.equal(counted.loaded && counted.reachable, true);
      assert.equal(changes, 1);
    } finally {
      store.close();
      counted.close();
      await server.close();
    }
  });

  it('jwksFile: read at start, re-read on refresh (SIGHUP) and when the file changes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hookroute-jwks-'));
    const file = join(dir, 'jwks.json');
    const second = makeKey('RS256', 'r2');
    await writeFile(file, JSON.stringify({ keys: [key.jwk] }));
    let changes = 0;
    const store = new JwksStore({ file, logger: silentLogger, onChange: () => changes++ });
    try {
      await store.start();
      assert.equal(store.loaded, true);
      assert.equal(changes, 1);
      await writeFile(file, 'not json');
      assert.equal(await store.refresh('SIGHUP'), false);
      assert.equal(store.loaded && !store.reachable, true, 'a broken file keeps the last good keys');
      await writeFile(file, JSON.stringify({ keys: [key.jwk, second.jwk] }));
      assert.equal(await store.refresh('SIGHUP'), true);
      assert.equal(changes, 2);
      // The poller notices a change without being asked.
      await writeFile(file, JSON.stringify({ keys: [second.jwk] }));
      await waitFor(() => changes === 3, 'the file watcher to reload the keys');
    } finally {
      store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
