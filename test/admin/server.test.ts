import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createAdminServer, type AdminDeps, type AdminServer } from '../../src/admin/server.ts';
import { Metrics } from '../../src/admin/metrics.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(
  port: number,
  method: string,
  path: string,
  opts: { token?: string; body?: Buffer } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.token !== undefined) headers.authorization = opts.token;
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A fake daemon: readiness facts the test flips, and a log of the calls the admin server made. */
function fakeDeps(adminYaml: string) {
  const calls: { name: string; filter?: unknown }[] = [];
  const ready = { listening: true, storageWritable: true, pipelinesLoaded: true };
  const state = { reloadOk: true, dlqThrows: false };
  const metrics = new Metrics({ processMetrics: false });
  const deps: AdminDeps = {
    config: parseConfigText(`admin:\n  port: 0\n${adminYaml}`, { file: undefined, cwd: '/', env: {} }),
    metrics,
    logger: silentLogger,
    readiness: () => ({ ...ready }),
    pipelines: () => ({ pipelines: [{ name: 'bounces-to-slack', enabled: true }], loadErrors: [] }),
    reload: async () => {
      calls.push({ name: 'reload' });
      return state.reloadOk ? { ok: true, errors: [] } : { ok: false, errors: ['pipelines/bad.yaml:3:5: unknown key'] };
    },
    dlqList: async (filter) => {
      calls.push({ name: 'dlqList', filter });
      if (state.dlqThrows) throw new Error('disk on fire: secret path /x');
      return { total: 2, groups: [] };
    },
    dlqReplay: async (filter) => {
      calls.push({ name: 'dlqReplay', filter });
      return { replayed: 2 };
    },
  };
  return { deps, calls, ready, state, metrics };
}

/** Prometheus text format: `name{labels} value` lines, comments skipped. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

describe('admin server without a token', () => {
  const fake = fakeDeps('');
  let admin: AdminServer;
  let port: number;
  before(async () => {
    admin = createAdminServer(fake.deps);
    ({ port } = await admin.listen());
  });
  after(() => admin.close());

  it('listens on the port it reports', () => {
    assert.ok(port > 0);
  });

  it('GET /healthz is 200 {"status":"ok"}', async () => {
    const res = await call(port, 'GET', '/healthz');
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), { status: 'ok' });
  });

  it('HEAD /healthz is 200 without a body', async () => {
    const res = await call(port, 'HEAD', '/healthz');
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
  });

  it('GET /readyz is 200 when every fact holds and 503 naming the ones that do not', async () => {
    const ok = await call(port, 'GET', '/readyz');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), {
      status: 'ready',
      checks: { listening: true, storageWritable: true, pipelinesLoaded: true },
      failing: [],
    });
    fake.ready.storageWritable = false;
    try {
      const down = await call(port, 'GET', '/readyz');
      assert.equal(down.status, 503);
      assert.deepEqual(JSON.parse(down.body), {
        status: 'not_ready',
        checks: { listening: true, storageWritable: false, pipelinesLoaded: true },
        failing: ['storageWritable'],
      });
      fake.ready.listening = false;
      assert.deepEqual(JSON.parse((await call(port, 'GET', '/readyz')).body).failing, ['listening', 'storageWritable']);
    } finally {
      fake.ready.storageWritable = true;
      fake.ready.listening = true;
    }
    assert.equal((await call(port, 'GET', '/readyz')).status, 200);
  });

  it('GET /readyz is 503 when the readiness check itself throws', async () => {
    const original = fake.deps.readiness;
    fake.deps.readiness = () => {
      throw new Error('engine not started');
    };
    try {
      const res = await call(port, 'GET', '/readyz');
      assert.equal(res.status, 503);
      assert.deepEqual(JSON.parse(res.body), { status: 'not_ready', checks: {}, failing: ['readinessCheck'] });
    } finally {
      fake.deps.readiness = original;
    }
  });

  it('GET /metrics is Prometheus text that counts what the test did', async () => {
    fake.metrics.requests.inc({ status: '200' }, 3);
    fake.metrics.eventsAccepted.inc({ event: 'emailOpen' });
    const res = await call(port, 'GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], fake.metrics.registry.contentType);
    const samples = parseExposition(res.body);
    assert.equal(samples.get('hookroute_ingress_requests_total{status="200"}'), 3);
    assert.equal(samples.get('hookroute_events_accepted_total{event="emailOpen"}'), 1);
    assert.match(res.body, /^# TYPE hookroute_ingress_requests_total counter$/m);
  });

  it('GET /pipelines returns what the daemon assembled', async () => {
    const res = await call(port, 'GET', '/pipelines');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), {
      pipelines: [{ name: 'bounces-to-slack', enabled: true }],
      loadErrors: [],
    });
  });

  it('POST /reload is 200 when it worked and 422 with the errors when it did not', async () => {
    const ok = await call(port, 'POST', '/reload');
    assert.equal(ok.status, 200);
    assert.deepEqual(JSON.parse(ok.body), { ok: true, errors: [] });
    fake.state.reloadOk = false;
    try {
      const bad = await call(port, 'POST', '/reload');
      assert.equal(bad.status, 422);
      assert.deepEqual(JSON.parse(bad.body), { ok: false, errors: ['pipelines/bad.yaml:3:5: unknown key'] });
    } finally {
      fake.state.reloadOk = true;
    }
  });

  it('GET /dlq and POST /dlq/replay pass the pipeline and sink filters through', async () => {
    fake.calls.length = 0;
    const list = await call(port, 'GET', '/dlq?pipeline=bounces&sink=slack%230&other=x');
    assert.equal(list.status, 200);
    assert.deepEqual(JSON.parse(list.body), { total: 2, groups: [] });
    const replay = await call(port, 'POST', '/dlq/replay?pipeline=bounces');
    assert.equal(replay.status, 200);
    assert.deepEqual(JSON.parse(replay.body), { replayed: 2 });
    const all = await call(port, 'POST', '/dlq/replay?sink=');
    assert.equal(all.status, 200);
    assert.deepEqual(fake.calls, [
      { name: 'dlqList', filter: { pipeline: 'bounces', sink: 'slack#0' } },
      { name: 'dlqReplay', filter: { pipeline: 'bounces' } },
      { name: 'dlqReplay', filter: {} },
    ]);
  });

  it('an over-long filter is 400 and never reaches the daemon', async () => {
    fake.calls.length = 0;
    const res = await call(port, 'GET', `/dlq?pipeline=${'p'.repeat(300)}`);
    assert.equal(res.status, 400);
    assert.equal(JSON.parse(res.body).error, 'bad_request');
    assert.deepEqual(fake.calls, []);
  });

  it('a failing action is 500 with a generic message (no internals leaked)', async () => {
    fake.state.dlqThrows = true;
    try {
      const res = await call(port, 'GET', '/dlq');
      assert.equal(res.status, 500);
      assert.deepEqual(JSON.parse(res.body), {
        error: 'admin_action_failed',
        message: 'The admin action failed; see the daemon log.',
      });
    } finally {
      fake.state.dlqThrows = false;
    }
  });

  it('unknown paths are 404 and wrong methods 405 with Allow, as JSON errors', async () => {
    const missing = await call(port, 'GET', '/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys(JSON.parse(missing.body)), ['error', 'message']);
    assert.equal(JSON.parse(missing.body).error, 'not_found');
    const wrong = await call(port, 'POST', '/healthz');
    assert.equal(wrong.status, 405);
    assert.equal(JSON.parse(wrong.body).error, 'method_not_allowed');
    assert.equal(wrong.headers.allow, 'GET, HEAD');
    const getReload = await call(port, 'GET', '/reload');
    assert.equal(getReload.status, 405);
    assert.equal(getReload.headers.allow, 'POST');
  });

  it('a body over 64kb is refused with 413', async () => {
    fake.calls.length = 0;
    const res = await call(port, 'POST', '/reload', { body: Buffer.alloc(1024 * 1024, 'a') });
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).error, 'payload_too_large');
    assert.deepEqual(fake.calls, []);
  });

  it('a small body is drained and ignored', async () => {
    const res = await call(port, 'POST', '/reload', { body: Buffer.from('{"ignored":true}') });
    assert.equal(res.status, 200);
  });
});

describe('admin server with admin.token', () => {
  const fake = fakeDeps('  token: s3cret-admin\n');
  let admin: AdminServer;
  let port: number;
  before(async () => {
    admin = createAdminServer(fake.deps);
    ({ port } = await admin.listen());
  });
  after(() => admin.close());

  it('/healthz and /readyz never need the token (load balancer probes)', async () => {
    assert.equal((await call(port, 'GET', '/healthz')).status, 200);
    assert.equal((await call(port, 'GET', '/readyz')).status, 200);
  });

  for (const [method, path] of [
    ['GET', '/metrics'],
    ['GET', '/pipelines'],
    ['POST', '/reload'],
    ['GET', '/dlq'],
    ['POST', '/dlq/replay'],
    ['GET', '/nope'],
  ] as const) {
    it(`${method} ${path} is 401 without, or with a wrong, token`, async () => {
      fake.calls.length = 0;
      for (const token of [
        undefined,
        'Bearer wrong',
        'Bearer s3cret-admin-and-more',
        's3cret-admin',
        'Basic s3cret-admin',
      ]) {
        const res = await call(port, method, path, token === undefined ? {} : { token });
        assert.equal(res.status, 401, `${token}`);
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="hookroute-admin"');
        assert.equal(JSON.parse(res.body).error, 'unauthorized');
      }
      assert.deepEqual(fake.calls, []);
    });
  }

  it('the right bearer token opens every route', async () => {
    const token = 'Bearer s3cret-admin';
    assert.equal((await call(port, 'GET', '/readyz', { token })).status, 200);
    assert.equal((await call(port, 'GET', '/metrics', { token })).status, 200);
    assert.equal((await call(port, 'GET', '/pipelines', { token })).status, 200);
    assert.equal((await call(port, 'POST', '/reload', { token })).status, 200);
    assert.equal((await call(port, 'GET', '/dlq', { token })).status, 200);
    assert.equal((await call(port, 'POST', '/dlq/replay', { token })).status, 200);
    assert.equal((await call(port, 'GET', '/nope', { token })).status, 404);
    assert.equal((await call(port, 'GET', '/readyz', { token: 'bearer s3cret-admin' })).status, 200);
  });
});

describe('admin server lifecycle', () => {
  it('close() resolves with a keep-alive connection open, and the port stops answering', async () => {
    const admin = createAdminServer(fakeDeps('').deps);
    const { port } = await admin.listen();
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    await admin.close();
    agent.destroy();
    await assert.rejects(call(port, 'GET', '/healthz'), /ECONNREFUSED/);
  });

  it('listen() rejects when the port is taken', async () => {
    const first = createAdminServer(fakeDeps('').deps);
    const { port } = await first.listen();
    try {
      const second = createAdminServer({
        ...fakeDeps('').deps,
        config: parseConfigText(`admin: { port: ${port} }`, { file: undefined, cwd: '/', env: {} }),
      });
      await assert.rejects(second.listen(), /EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
