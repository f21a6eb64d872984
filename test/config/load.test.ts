import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { formatProblem } from '../../src/schema-kit/yaml-source.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'hookroute-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Write `config.yaml` in a fresh folder and return the problems `loadConfig` reports, formatted. */
async function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const folder = await mkdtemp(path.join(dir, 'case-'));
  await writeFile(path.join(folder, 'config.yaml'), yaml);
  try {
    await loadConfig({ cwd: folder, env });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.message, err.problems.map(formatProblem).join('\n'));
    return err.problems.map(formatProblem);
  }
  return [];
}

describe('loadConfig: broken files', () => {
  const cases: { name: string; yaml: string; expect: string[] }[] = [
    {
      name: 'wrong type',
      yaml: 'server:\n  host: 0.0.0.0\n  port: eighty\n',
      expect: ['config.yaml:3:9: server.port: must be integer'],
    },
    {
      name: 'out of range',
      yaml: 'server:\n  port: 70000\n',
      expect: ['config.yaml:2:9: server.port: must be <= 65535'],
    },
    {
      name: 'unknown key with suggestion',
      yaml: 'server:\n  port: 8080\nlog:\n  level: info\nstorage:\n  dir: ./data\n  fsnc: always\n',
      expect: ['config.yaml:7:3: storage.fsnc: unknown key (did you mean "fsync"?)'],
    },
    {
      name: 'unknown top-level key without a close match',
      yaml: 'frobnicate: 1\n',
      expect: ['config.yaml:1:1: frobnicate: unknown key'],
    },
    {
      name: 'swapped letters',
      yaml: 'server:\n  prot: 1\n',
      expect: ['config.yaml:2:3: server.prot: unknown key (did you mean "port"?)'],
    },
    {
      name: 'enum',
      yaml: 'auth:\n  mode: bsic\n',
      expect: ['config.yaml:2:9: auth.mode: must be one of "none", "basic", "token", "oauth2"'],
    },
    {
      name: 'bad size',
      yaml: 'storage:\n  maxDiskBytes: 10zb\n',
      expect: [
        'config.yaml:2:17: storage.maxDiskBytes: must be a size such as 512kb, 1mb, 10gb (or a number of bytes)',
      ],
    },
    {
      name: 'bad duration',
      yaml: 'shutdown: { grace: soon }\n',
      expect: [
        'config.yaml:1:20: shutdown.grace: must be a duration such as 250ms, 5s, 5m, 2h (or a number of milliseconds)',
      ],
    },
    {
      name: 'a zero disk quota',
      yaml: 'storage:\n  maxDiskBytes: 0\n',
      expect: ['config.yaml:2:17: storage.maxDiskBytes: must be at least 1mb'],
    },
    {
      name: 'no time box',
      yaml: 'pipelines: { evalTimeout: 0 }\n',
      expect: ['config.yaml:1:27: pipelines.evalTimeout: must be at least 1ms'],
    },
    { name: 'section of the wrong type', yaml: 'storage: 5\n', expect: ['config.yaml:1:10: storage: must be object'] },
    {
      name: 'not a mapping',
      yaml: '- a\n- b\n',
      expect: ['config.yaml:1:1: the config must be a mapping of keys (e.g. `server:`)'],
    },
    {
      name: 'YAML syntax',
      yaml: 'server:\n  port: [1,\n',
      expect: ['config.yaml:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    },
    {
      name: 'basic without credentials',
      yaml: 'auth:\n  mode: basic\n',
      expect: ['config.yaml:2:9: auth.mode: "basic" needs an `auth.basic` section'],
    },
    {
      name: 'token without token',
      yaml: 'auth: { mode: token }\n',
      expect: ['config.yaml:1:15: auth.mode: "token" needs an `auth.token` section'],
    },
    {
      name: 'oauth2 without clients',
      yaml: 'auth: { mode: oauth2 }\n',
      expect: ['config.yaml:1:15: auth.mode: "oauth2" needs an `auth.oauth2` section'],
    },
    {
      name: 'oauth2 with neither clients nor jwt',
      yaml: 'auth:\n  mode: oauth2\n  oauth2: { tokenTtl: 1h }\n',
      expect: [
        'config.yaml:3:11: auth.oauth2: needs `clients` (the built-in token endpoint), `jwt` (your own authorization server), or both',
      ],
    },
    {
      name: 'jwt: HMAC algorithm, no audience',
      yaml:
        'auth:\n  mode: oauth2\n  oauth2:\n    jwt:\n      jwksUrl: https://idp.example/keys\n' +
        '      issuer: https://idp.example\n      algorithms: [RS256, HS256]\n',
      expect: [
        'config.yaml:5:7: auth.oauth2.jwt.audience: is required',
        'config.yaml:7:27: auth.oauth2.jwt.algorithms[1]: must be one of "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"',
      ],
    },
    {
      name: 'jwt: both key sources',
      yaml:
        'auth:\n  mode: oauth2\n  oauth2:\n    jwt:\n      jwksUrl: https://idp.example/keys\n      jwksFile: ./k.json\n' +
        '      issuer: https://idp.example\n      audience: a\n',
      expect: ['config.yaml:5:7: auth.oauth2.jwt: needs exactly one of `jwksUrl` and `jwksFile`'],
    },
    {
      name: 'jwt: plain http to a non-loopback JWKS',
      yaml: 'auth:\n  mode: oauth2\n  oauth2:\n    jwt:\n      jwksUrl: http://10.0.0.5/keys\n      issuer: i\n      audience: a\n',
      expect: [
        'config.yaml:5:16: auth.oauth2.jwt.jwksUrl: must be an https:// URL (http:// only to a loopback address such as 127.0.0.1)',
      ],
    },
    {
      name: 'nested required and array paths',
      yaml: 'auth:\n  mode: oauth2\n  oauth2:\n    clients:\n      - id: 3\n        secrt: x\n',
      expect: [
        'config.yaml:5:9: auth.oauth2.clients[0].secret: is required',
        'config.yaml:5:13: auth.oauth2.clients[0].id: must be string',
        'config.yaml:6:9: auth.oauth2.clients[0].secrt: unknown key (did you mean "secret"?)',
      ],
    },
    {
      name: 'bad CIDRs',
      yaml: 'auth:\n  allowIps:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n    - "2001:db8::/129"\nserver:\n  trustProxy: [proxy.local]\n',
      expect: [
        'config.yaml:4:7: auth.allowIps[1]: "10.0.0.0/33" is not an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)',
        'config.yaml:5:7: auth.allowIps[2]: "2001:db8::/129" is not an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)',
        'config.yaml:7:16: server.trustProxy[0]: "proxy.local" is not an IP address or CIDR (e.g. 10.0.0.0/8, 2001:db8::/32)',
      ],
    },
    {
      name: 'reserved path',
      yaml: 'server:\n  path: /oauth/token\n',
      expect: ['config.yaml:2:9: server.path: "/oauth/token" is reserved for the OAuth 2.0 token endpoint'],
    },
    {
      name: 'several problems, in file order',
      yaml: 'log:\n  level: loud\nserver:\n  port: -1\nadmin: { prot: 1 }\n',
      expect: [
        'config.yaml:2:10: log.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"',
        'config.yaml:4:9: server.port: must be >= 0',
        'config.yaml:5:10: admin.prot: unknown key (did you mean "port"?)',
      ],
    },
    {
      name: 'missing env var',
      yaml: 'auth:\n  mode: token\n  token:\n    value: ${WEBHOOK_TOKEN}\n',
      expect: [
        'config.yaml:4:12: auth.token.value: environment variable WEBHOOK_TOKEN is not set (set it, or write ${WEBHOOK_TOKEN:-default})',
      ],
    },
    {
      name: 'prototype keys are unknown keys, not inherited ones',
      yaml: '__proto__:\n  polluted: 1\nserver:\n  constructor: 1\n  toString: x\n',
      expect: [
        'config.yaml:1:1: __proto__: unknown key',
        'config.yaml:4:3: server.constructor: unknown key',
        'config.yaml:5:3: server.toString: unknown key',
      ],
    },
    {
      name: 'quoted number stays a string',
      yaml: 'server:\n  port: "8080"\n',
      expect: ['config.yaml:2:9: server.port: must be integer'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      assert.deepEqual(await problemsOf(c.yaml), c.expect);
    });
  }
});

describe('loadConfig: values', () => {
  it('empty file gives the defaults, anchored at the file folder', async () => {
    const folder = await mkdtemp(path.join(dir, 'empty-'));
    await writeFile(path.join(folder, 'config.yaml'), '# nothing here\n');
    const config = await loadConfig({ cwd: folder, env: {} });
    assert.equal(config.file, path.join(folder, 'config.yaml'));
    assert.equal(config.baseDir, folder);
    assert.deepEqual(config.server, {
      host: '0.0.0.0',
      port: 8080,
      path: '/webhook',
      maxBodyBytes: 1024 ** 2,
      maxHeaderBytes: 16 * 1024,
      trustProxy: [],
      maxConnections: 10000,
      engine: 'auto',
    });
    assert.deepEqual(config.auth, { mode: 'none', allowIps: [] });
    assert.deepEqual(config.storage, {
      dir: path.join(folder, 'data'),
      fsync: 'batch',
      maxDiskBytes: 10 * 1024 ** 3,
      segmentBytes: 64 * 1024 ** 2,
    });
    assert.deepEqual(config.pipelines, {
      dir: path.join(folder, 'pipelines'),
      watch: true,
      debounceMs: 200,
      evalTimeoutMs: 100,
    });
    assert.deepEqual(config.admin, { enabled: true, host: '127.0.0.1', port: 9090 });
    assert.deepEqual(config.log, { level: 'info', format: 'json' });
    assert.deepEqual(config.shutdown, { graceMs: 10_000 });
  });

  it('no file and no ./config.yaml: built-in defaults anchored at cwd', async () => {
    const folder = await mkdtemp(path.join(dir, 'none-'));
    const config = await loadConfig({ cwd: folder, env: {} });
    assert.equal(config.file, undefined);
    assert.equal(config.baseDir, folder);
    assert.equal(config.plugins.dir, path.join(folder, 'plugins'));
    assert.equal(config.server.port, 8080);
  });

  it('-c FILE that does not exist is a clear error, even when ./config.yaml exists', async () => {
    const folder = await mkdtemp(path.join(dir, 'missing-'));
    await writeFile(path.join(folder, 'config.yaml'), '');
    await assert.rejects(loadConfig({ file: 'other.yaml', cwd: folder, env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, 'other.yaml:1:1: config file not found');
      return true;
    });
  });

  it('-c FILE elsewhere: relative paths resolve against its folder, absolute ones stay', async () => {
    const folder = await mkdtemp(path.join(dir, 'rel-'));
    await mkdir(path.join(folder, 'etc'));
    const file = path.join(folder, 'etc', 'hookroute.yaml');
    await writeFile(
      file,
      'pipelines: { dir: ../routes }\nplugins: { dir: plugins }\nstorage: { dir: /var/lib/hookroute }\n',
    );
    const config = await loadConfig({ file: 'etc/hookroute.yaml', cwd: folder, env: {} });
    assert.equal(config.file, file);
    assert.equal(config.baseDir, path.join(folder, 'etc'));
    assert.equal(config.pipelines.dir, path.join(folder, 'routes'));
    assert.equal(config.plugins.dir, path.join(folder, 'etc', 'plugins'));
    assert.equal(config.storage.dir, '/var/lib/hookroute');
  });

  it('sizes and durations become bytes and milliseconds', async () => {
    const folder = await mkdtemp(path.join(dir, 'units-'));
    await writeFile(
      path.join(folder, 'config.yaml'),
      'server: { maxBodyBytes: 512kb, maxHeaderBytes: 2048 }\nstorage: { maxDiskBytes: 1.5gb, segmentBytes: 8mb }\n' +
        'pipelines: { debounce: 1s, evalTimeout: 250 }\nshutdown: { grace: 2m }\n' +
        'auth: { mode: oauth2, oauth2: { clients: [{ id: iterable, secret: s3cret }], tokenTtl: 2h } }\n',
    );
    const config = await loadConfig({ cwd: folder, env: {} });
    assert.equal(config.server.maxBodyBytes, 512 * 1024);
    assert.equal(config.server.maxHeaderBytes, 2048);
    assert.equal(config.storage.maxDiskBytes, 1.5 * 1024 ** 3);
    assert.equal(config.storage.segmentBytes, 8 * 1024 ** 2);
    assert.equal(config.pipelines.debounceMs, 1000);
    assert.equal(config.pipelines.evalTimeoutMs, 250);
    assert.equal(config.shutdown.graceMs, 120_000);
    assert.deepEqual(config.auth.oauth2, { clients: [{ id: 'iterable', secret: 's3cret' }], tokenTtlMs: 7_200_000 });
  });

  it('auth.oauth2.jwt: audience becomes a list, jwksFile absolute, clockTolerance milliseconds; clients may be left out', async () => {
    const folder = await mkdtemp(path.join(dir, 'jwt-'));
    await writeFile(
      path.join(folder, 'config.yaml'),
      'auth:\n  mode: oauth2\n  oauth2:\n    jwt: { jwksFile: keys/jwks.json, issuer: "https://idp.example/", audience: api://hookroute }\n',
    );
    const config = await loadConfig({ cwd: folder, env: {} });
    assert.deepEqual(config.auth.oauth2, {
      clients: [],
      tokenTtlMs: 3_600_000,
      jwt: {
        jwksFile: path.join(folder, 'keys', 'jwks.json'),
        issuer: 'https://idp.example/',
        audience: ['api://hookroute'],
        algorithms: ['RS256', 'ES256'],
        clockToleranceMs: 30_000,
      },
    });
  });

  it('auth.oauth2.jwt: an https JWKS URL with a private address, a list of audiences and clients together', async () => {
    const folder = await mkdtemp(path.join(dir, 'jwt-url-'));
    await writeFile(
      path.join(folder, 'config.yaml'),
      'auth:\n  mode: oauth2\n  oauth2:\n    clients: [{ id: iterable, secret: s }]\n' +
        '    jwt: { jwksUrl: "https://10.1.2.3/keys", issuer: i, audience: [a, b], algorithms: [ES256], clockTolerance: 5s }\n',
    );
    const { jwt, clients } = (await loadConfig({ cwd: folder, env: {} })).auth.oauth2!;
    assert.equal(clients.length, 1);
    assert.deepEqual(jwt, {
      jwksUrl: 'https://10.1.2.3/keys',
      issuer: 'i',
      audience: ['a', 'b'],
      algorithms: ['ES256'],
      clockToleranceMs: 5000,
    });
  });

  it('${VAR} and ${VAR:-default} interpolate, and env values fill numbers and booleans', async () => {
    const folder = await mkdtemp(path.join(dir, 'env-'));
    await writeFile(
      path.join(folder, 'config.yaml'),
      'server:\n  host: ${HOST:-127.0.0.1}\n  port: ${PORT}\n  path: /hooks/${TENANT}\n' +
        'auth:\n  mode: token\n  token: { value: "${TOKEN}", header: X-Token }\n' +
        'pipelines: { watch: "${WATCH:-false}" }\nadmin: { token: "$${literal}" }\n',
    );
    const config = await loadConfig({ cwd: folder, env: { PORT: '9999', TENANT: 'acme', TOKEN: 'tok-1' } });
    assert.equal(config.server.host, '127.0.0.1');
    assert.equal(config.server.port, 9999);
    assert.equal(config.server.path, '/hooks/acme');
    assert.deepEqual(config.auth.token, { value: 'tok-1', header: 'X-Token' });
    assert.equal(config.pipelines.watch, false);
    assert.equal(config.admin.token, '${literal}');
  });

  it('${file:PATH} reads a secret file relative to the config file, not the working folder', async () => {
    const folder = await mkdtemp(path.join(dir, 'file-ref-'));
    await mkdir(path.join(folder, 'etc', 'secrets'), { recursive: true });
    await writeFile(path.join(folder, 'etc', 'secrets', 'token'), 'tok-from-file\n');
    await writeFile(
      path.join(folder, 'etc', 'config.yaml'),
      'server:\n  port: ${file:secrets/port}\nauth:\n  mode: token\n  token: { value: "${file:secrets/token}" }\n',
    );
    await writeFile(path.join(folder, 'etc', 'secrets', 'port'), '9998\n');
    const config = await loadConfig({ cwd: folder, file: 'etc/config.yaml', env: {} });
    assert.equal(config.auth.token?.value, 'tok-from-file');
    assert.equal(config.server.port, 9998, 'a file value fills a number like an env value does');
  });

  it('a ${file:PATH} that cannot be read is one problem at its key', async () => {
    const problems = await problemsOf('auth:\n  mode: token\n  token:\n    value: ${file:missing-token}\n');
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.match(
      problems[0]!,
      /^config\.yaml:4:12: auth\.token\.value: \$\{file:missing-token\}: cannot read .*missing-token: no such file$/,
    );
  });

  it('an env value of the wrong kind is still a type error', async () => {
    assert.deepEqual(await problemsOf('server:\n  port: ${PORT}\n', { PORT: 'http' }), [
      'config.yaml:2:9: server.port: must be integer',
    ]);
  });

  it('a __proto__ key pollutes nothing', async () => {
    await problemsOf('__proto__:\n  polluted: 1\nserver:\n  __proto__: { polluted: 2 }\n');
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
  });

  it('an empty section counts as an empty mapping', async () => {
    assert.deepEqual(await problemsOf('server:\nlog:\n  level: debug\n'), []);
  });
});

describe('loadConfig: sizes in any letter case', () => {
  it('reads 1MB, 2 GiB and 512Kb', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'hookroute-config-case-'));
    try {
      await writeFile(
        path.join(folder, 'config.yaml'),
        'server: { maxBodyBytes: 1MB }\nstorage: { maxDiskBytes: 2 GiB, segmentBytes: 512Kb }\n',
      );
      const config = await loadConfig({ cwd: folder, env: {} });
      assert.equal(config.server.maxBodyBytes, 1024 * 1024);
      assert.equal(config.storage.maxDiskBytes, 2 * 1024 ** 3);
      assert.equal(config.storage.segmentBytes, 512 * 1024);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
