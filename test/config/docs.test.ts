import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  REFERENCE_END,
  REFERENCE_START,
  renderConfigDoc,
  renderConfigExample,
  renderConfigReference,
  replaceReferenceBlock,
} from '../../src/config/docs.ts';
import { parseConfigText } from '../../src/config/load.ts';
import { ConfigSchema } from '../../src/config/schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const STALE = 'is stale: run `npm run docs`';

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(path.join(root, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

describe('generated config docs are up to date', () => {
  it('config.example.yaml', async () => {
    assert.equal(
      await readFile(path.join(root, 'config.example.yaml'), 'utf8'),
      renderConfigExample(),
      `config.example.yaml ${STALE}`,
    );
  });

  it('docs/config.md', async () => {
    assert.equal(
      await readFile(path.join(root, 'docs/config.md'), 'utf8'),
      renderConfigDoc(),
      `docs/config.md ${STALE}`,
    );
  });

  it('the README config reference block (when README.md has the markers)', async (t) => {
    const readme = await readIfExists('README.md');
    const updated = readme === undefined ? undefined : replaceReferenceBlock(readme, renderConfigReference());
    if (updated === undefined) {
      t.diagnostic('README.md has no config-reference markers yet');
      return;
    }
    assert.equal(readme, updated, `the config reference in README.md ${STALE}`);
  });
});

describe('config.example.yaml content', () => {
  const cwd = '/srv/hookroute';
  const file = path.join(cwd, 'config.example.yaml');

  it('loads to exactly the built-in defaults', () => {
    const fromExample = parseConfigText(renderConfigExample(), { file, cwd, env: {} });
    const defaults = parseConfigText('', { file, cwd, env: {} });
    assert.deepEqual(fromExample, defaults);
  });

  it('names every key of the schema', () => {
    const example = renderConfigExample();
    const walk = (node: { properties?: Record<string, unknown>; items?: unknown }, at: string) => {
      for (const [key, child] of Object.entries(node.properties ?? {})) {
        assert.match(
          example,
          new RegExp(`^\\s*(#\\s+)?(- )?${key}:`, 'm'),
          `${at}${key} missing from config.example.yaml`,
        );
        const c = child as { properties?: Record<string, unknown>; items?: { properties?: Record<string, unknown> } };
        walk(c, `${at}${key}.`);
        if (c.items?.properties) walk(c.items, `${at}${key}[].`);
      }
    };
    walk(ConfigSchema as never, '');
  });

  it('its commented-out examples are valid config once uncommented', () => {
    // `  # basic:` and `  #   username: ...` are example lines; `  # Credentials for ...` are descriptions.
    const uncommented = renderConfigExample()
      .split('\n')
      .map((line) => line.replace(/^(\s*)# (\w+:.*|\s+\S.*)$/, '$1$2'))
      // `jwksFile` is the alternative to `jwksUrl` (exactly one may be set): the example keeps the URL.
      .filter((line) => !/^\s*jwksFile:/.test(line))
      .join('\n');
    assert.notEqual(uncommented, renderConfigExample());
    const env = {
      HOOKROUTE_AUTH_BASIC_PASSWORD: 'pw',
      HOOKROUTE_AUTH_TOKEN_VALUE: 'tok',
      HOOKROUTE_AUTH_OAUTH2_CLIENTS_SECRET: 'cs',
      HOOKROUTE_AUTH_OAUTH2_SIGNING_KEY: 'sk',
      HOOKROUTE_ADMIN_TOKEN: 'at',
    };
    const config = parseConfigText(uncommented, { file, cwd, env });
    assert.deepEqual(config.auth.basic, { username: 'iterable', password: 'pw' });
    assert.deepEqual(config.auth.token, { value: 'tok', header: 'X-Webhook-Token' });
    assert.deepEqual(config.auth.oauth2, {
      clients: [{ id: 'iterable', secret: 'cs' }],
      tokenTtlMs: 3_600_000,
      signingKey: 'sk',
      jwt: {
        jwksUrl: 'https://example.okta.com/oauth2/default/v1/keys',
        issuer: 'https://example.okta.com/oauth2/default',
        audience: ['api://hookroute'],
        algorithms: ['RS256', 'ES256'],
        clockToleranceMs: 30_000,
      },
    });
    assert.equal(config.admin.token, 'at');
  });
});

describe('renderConfigReference', () => {
  const table = renderConfigReference();

  it('has a row per key with type, default and description', () => {
    assert.match(
      table,
      /^\| `server\.port` \| integer 0–65535 \| `8080` \| Ingress port; 0 picks a free port \(logged at start\)\. \|$/m,
    );
    assert.match(table, /^\| `storage\.fsync` \| `batch` \\\| `always` \\\| `off` \| `batch` \| /m);
    assert.match(table, /^\| `server\.maxBodyBytes` \| size \| `1mb` \| /m);
    assert.match(table, /^\| `auth\.oauth2\.tokenTtl` \| duration \| `1h` \| /m);
    assert.match(table, /^\| `auth\.oauth2\.clients\[\]\.secret` \| string \(secret\) \| required \| /m);
    assert.match(table, /^\| `admin\.token` \| string \(secret\) \| not set \| /m);
  });

  it('names literal values the description leaves out', () => {
    assert.match(
      table,
      /^\| `log\.level` .*One of: `fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`\. \|$/m,
    );
  });

  it('keeps every row to four cells (pipes inside cells are escaped)', () => {
    for (const row of table.trimEnd().split('\n')) assert.equal(row.replace(/\\\|/g, '').split('|').length, 6, row);
  });
});

describe('replaceReferenceBlock', () => {
  it('replaces only what is between the markers', () => {
    const text = `# Title\n\nintro\n\n${REFERENCE_START}\nold table\n${REFERENCE_END}\n\n## After\n`;
    assert.equal(
      replaceReferenceBlock(text, 'new table\n'),
      `# Title\n\nintro\n\n${REFERENCE_START}\nnew table\n${REFERENCE_END}\n\n## After\n`,
    );
  });

  it('leaves text without markers alone', () => {
    assert.equal(replaceReferenceBlock('# no markers\n', 'x\n'), undefined);
    assert.equal(replaceReferenceBlock(`${REFERENCE_END}\n${REFERENCE_START}\n`, 'x\n'), undefined);
  });
});
