// Which HTTP engine runs: the native uWS binary where one fits this Node and glibc, node:http otherwise, and the override.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { Metrics } from '../../src/admin/metrics.ts';
import { chooseEngine } from '../../src/ingress/engine.ts';
import { createIngress } from '../../src/ingress/server.ts';
import { loadNativeUws } from '../../src/ingress/uws-binary.ts';
import { ingressConfig, RecordingHandoff } from '../integration/ingress-harness.ts';

const native = loadNativeUws();
const TLS = { cert: '/c.pem', key: '/k.pem' };

function glibc(): [number, number] | undefined {
  const v = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  const m = /^(\d+)\.(\d+)/.exec(v ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

describe('native uWebSockets.js binary', () => {
  it('loads on Node 20 (ABI 115) on linux-x64 glibc, where the trufflesuite build ships one', (t) => {
    if (process.versions.modules !== '115' || process.platform !== 'linux' || process.arch !== 'x64' || !glibc())
      return t.diagnostic(`not Node 20 on linux-x64 glibc: ${process.version} ${process.platform}-${process.arch}`);
    assert.ok(native, 'a native binary loads');
    assert.match(native.binary, /uws_linux_x64_115\.node$/);
  });

  it('never hands out the JS shim: any binary it returns is a .node file with the uWS API', () => {
    const g = glibc();
    const btcFits = g !== undefined && (g[0] > 2 || (g[0] === 2 && g[1] >= 38));
    if (process.versions.modules !== '115' && !btcFits) assert.equal(native, undefined, 'no build covers this ABI');
    if (native) {
      assert.match(native.binary, /\.node$/);
      assert.equal(typeof native.uws.App, 'function');
    }
  });
});

describe('chooseEngine', () => {
  it('auto: uws when the native binary loads, node otherwise (with the reason)', () => {
    const choice = chooseEngine({ engine: 'auto' });
    if (native) assert.equal(choice.name, 'uws');
    else {
      assert.equal(choice.name, 'node');
      assert.match(choice.reason, new RegExp(`no native uWebSockets.js binary for Node ${process.version}`));
    }
  });

  it('node is always honoured; uws without a binary is an error, not the JS shim', () => {
    assert.equal(chooseEngine({ engine: 'node' }).name, 'node');
    assert.equal(chooseEngine({ engine: 'node', tls: TLS }).name, 'node');
    if (native) assert.equal(chooseEngine({ engine: 'uws' }).native, native);
    else assert.throws(() => chooseEngine({ engine: 'uws' }), /server.engine: uws: no native uWebSockets.js binary/);
  });

  it('TLS runs on node:https: auto picks node, uws refuses', () => {
    const choice = chooseEngine({ engine: 'auto', tls: TLS });
    assert.equal(choice.name, 'node');
    assert.match(choice.reason, /server\.tls/);
    assert.throws(() => chooseEngine({ engine: 'uws', tls: TLS }), /server\.engine: uws cannot serve server\.tls/);
  });
});

describe('the listen log', () => {
  for (const engine of native ? (['uws', 'node'] as const) : (['node'] as const)) {
    it(`names the engine (${engine}), why it runs, and the binary for uws`, async () => {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      });
      const ingress = createIngress({
        config: ingressConfig({ server: { engine } }),
        validate: () => [],
        handoff: new RecordingHandoff(),
        metrics: new Metrics({ processMetrics: false }),
        eventLabel: (n) => n,
        logger: pino(sink),
      });
      try {
        assert.equal(ingress.engine, engine);
        await ingress.listen();
        await new Promise((r) => setImmediate(r));
        const line = lines.find((l) => String(l.msg).startsWith('ingress listening'));
        assert.ok(line, JSON.stringify(lines));
        assert.equal(line.engine, engine);
        assert.equal(line.why, `server.engine: ${engine}`);
        assert.equal(
          line.msg,
          engine === 'uws' ? 'ingress listening (native uWebSockets.js)' : 'ingress listening (node:http)',
        );
        if (engine === 'uws') assert.equal(line.binary, native!.binary);
      } finally {
        ingress.close();
      }
    });
  }
});
