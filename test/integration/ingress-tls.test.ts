// HTTPS on the ingress with a certificate made at test time: served, swapped on file change and on SIGHUP, open connections kept.
import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import tls from 'node:tls';
import { Agent, request } from 'undici';
import { installCertificate, makeCertificate, type TestCertificate } from '../fixtures/test-certificates.ts';
import { startDaemonProcess, tempDir, waitFor } from './harness.ts';
import { head, startIngress, type TestIngress } from './ingress-harness.ts';

const EVENT = '{"eventName":"emailSend","email":"u@x.com"}';

/** A TLS connection to the ingress trusting `ca`; it stays open across requests (keep-alive). */
function connect(port: number, ca: Buffer[]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One webhook POST on an open connection; resolves with the status once the whole answer has arrived. */
function postOn(socket: tls.TLSSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})[^]*?content-length: (\d+)[^]*?\r\n\r\n([^]*)$/i.exec(text);
      if (!m || m[3]!.length < Number(m[2])) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(Number(m[1]));
    };
    const onClose = () => reject(new Error(`connection closed; received: ${text}`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.write(head('/webhook', { 'Content-Type': 'application/json', 'Content-Length': EVENT.length }) + EVENT);
  });
}

/** The certificate a fresh connection is served. */
async function servedFingerprint(port: number, ca: Buffer[]): Promise<string> {
  const socket = await connect(port, ca);
  try {
    return socket.getPeerX509Certificate()!.fingerprint256;
  } finally {
    socket.destroy();
  }
}

describe('ingress over TLS', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let a: TestCertificate;
  let b: TestCertificate;
  let live: { cert: string; key: string };
  let t: TestIngress;
  let ca: Buffer[];
  before(async () => {
    ({ dir, cleanup } = await tempDir());
    a = makeCertificate(dir, 'a');
    b = makeCertificate(dir, 'b');
    ca = [a.cert, b.cert];
    live = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    installCertificate(a, live);
    t = await startIngress({ server: { tls: live } });
  });
  after(async () => {
    t.close();
    await cleanup();
  });

  it('serves HTTPS with the configured certificate, on node:https (auto picks it for TLS)', async () => {
    assert.equal(t.ingress.engine, 'node');
    const res = await request(`https://127.0.0.1:${t.port}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: EVENT,
      dispatcher: new Agent({ connect: { ca: a.cert } }),
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { ok: true });
    assert.equal(await servedFingerprint(t.port, ca), a.fingerprint256);
    // Plain HTTP on the HTTPS port gets no webhook answer.
    await assert.rejects(
      request(`http://127.0.0.1:${t.port}/webhook`, { method: 'POST', body: EVENT }).then((r) => {
        if (r.statusCode === 200) return;
        throw new Error(`answered ${r.statusCode}`);
      }),
    );
  });

  it('a changed certificate file reaches new connections while an open connection keeps working', async () => {
    installCertificate(a, live);
    await t.ingress.reloadTls('test setup');
    const open = await connect(t.port, ca);
    try {
      assert.equal(await postOn(open), 200);
      installCertificate(b, live);
      assert.ok(
        await waitFor(async () => (await servedFingerprint(t.port, ca)) === b.fingerprint256, 15_000),
        'the renewed certificate is served to new connections',
      );
      assert.equal(await postOn(open), 200, 'the connection opened before the change still works');
      assert.equal(open.getPeerX509Certificate()!.fingerprint256, a.fingerprint256);
    } finally {
      open.destroy();
    }
  });

  it('reloadTls (SIGHUP) reads the files at once; a pair that does not match keeps the previous certificate', async () => {
    installCertificate(a, live);
    assert.equal(await t.ingress.reloadTls('SIGHUP'), true);
    assert.equal(await servedFingerprint(t.port, ca), a.fingerprint256);
    installCertificate(b, live);
    assert.equal(await t.ingress.reloadTls('SIGHUP'), true);
    assert.equal(await servedFingerprint(t.port, ca), b.fingerprint256);
    const open = await connect(t.port, ca);
    try {
      copyFileSync(a.certFile, live.cert); // b's key with a's certificate
      assert.equal(await t.ingress.reloadTls('SIGHUP'), false);
      assert.equal(await servedFingerprint(t.port, ca), b.fingerprint256);
      assert.equal(await postOn(open), 200);
    } finally {
      open.destroy();
      installCertificate(b, live);
    }
  });
});

describe('ingress TLS setup', () => {
  it('refuses to start on a missing file or a certificate and key that do not belong together', async (ctx) => {
    const { dir, cleanup } = await tempDir();
    ctx.after(cleanup);
    const a = makeCertificate(dir, 'a');
    const b = makeCertificate(dir, 'b');
    await assert.rejects(
      startIngress({ server: { tls: { cert: join(dir, 'missing.pem'), key: a.keyFile } } }),
      /server\.tls\.cert: cannot read .*missing\.pem \(ENOENT\)/,
    );
    await assert.rejects(
      startIngress({ server: { tls: { cert: a.certFile, key: b.keyFile } } }),
      /not a usable certificate and key/,
    );
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    await assert.rejects(
      startIngress({ server: { tls: { cert: join(dir, 'junk.pem'), key: a.keyFile } } }),
      /not a usable certificate and key/,
    );
  });
});

test('the daemon serves HTTPS from server.tls and swaps the certificate on SIGHUP without restarting', async (ctx) => {
  const { dir, cleanup } = await tempDir();
  ctx.after(cleanup);
  const a = makeCertificate(dir, 'a');
  const b = makeCertificate(dir, 'b');
  installCertificate(a, { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
  const d = await startDaemonProcess({
    dir,
    config: { server: { host: '127.0.0.1', port: 0, tls: { cert: './cert.pem', key: './key.pem' } } },
    timeoutMs: 60_000,
  });
  ctx.after(() => d.kill('SIGKILL'));
  const listening = d.logs.find((l) => l.msg === 'ingress listening (node:https)');
  assert.ok(listening, 'the listen log names node:https');
  assert.equal(listening.engine, 'node');
  const open = await connect(d.port, [a.cert, b.cert]);
  ctx.after(() => open.destroy());
  assert.equal(await postOn(open), 200);
  installCertificate(b, { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') });
  d.kill('SIGHUP');
  assert.ok(
    await waitFor(
      () =>
        d.logs.some(
          (l) => l.msg === 'TLS certificate loaded' && l.reason === 'SIGHUP' && l.fingerprint256 === b.fingerprint256,
        ),
      10_000,
    ),
    'the SIGHUP reload is logged with the new certificate',
  );
  assert.equal(await servedFingerprint(d.port, [a.cert, b.cert]), b.fingerprint256);
  assert.equal(await postOn(open), 200, 'the connection opened before SIGHUP still works');
  assert.ok(!d.logs.some((l) => JSON.stringify(l).includes('PRIVATE KEY')), 'no key material in the log');
  open.destroy();
  d.kill('SIGTERM');
  assert.equal(await d.exited, 0);
});
