// docs/sinks.md is generated from the sinks' schemas; `hookroute schema --sinks` shows plugins' sink types the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runSchema } from '../../src/cli/schema.ts';
import { renderSinkDocs } from '../../src/sinks/docs.ts';
import { BUILT_IN_SINKS } from '../../src/sinks/registry.ts';

const builtIns = BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' }));

test('docs/sinks.md is up to date (run `npm run docs` when this fails)', async () => {
  const doc = await readFile(new URL('../../docs/sinks.md', import.meta.url), 'utf8');
  assert.equal(doc, renderSinkDocs(builtIns), 'docs/sinks.md is stale: run `npm run docs`');
});

test('every built-in sink and every one of its options is documented, with the delivery policy keys', () => {
  const doc = renderSinkDocs(builtIns);
  for (const d of BUILT_IN_SINKS) {
    assert.ok(doc.includes(`## \`${d.type}\``), d.type);
    for (const key of Object.keys((d.options as { properties?: object }).properties ?? {}))
      assert.ok(doc.includes(`| \`${key}\` |`), `${d.type}.${key}`);
  }
  for (const key of ['retry.attempts', 'retry.maxAge', 'queue.concurrency', 'breaker.cooldown'])
    assert.ok(doc.includes(`| \`${key}\` |`), key);
  assert.match(doc, /Defaults for this type: `queue.rate: 1\/s`, `queue.concurrency: 1`/, 'slack queue defaults');
});

async function schemaSinks(args: { format?: string; config?: string }) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const code = await runSchema({ sinks: true, ...args }, out);
  out.end();
  return { code, text: Buffer.concat(chunks).toString('utf8') };
}

test('hookroute schema --sinks lists the plugin sink types of plugins.dir beside the built-ins', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-sinkdocs-'));
  try {
    // A plugin that imports nothing, so it loads from a folder outside the checkout.
    await mkdir(join(dir, 'plugins'));
    await writeFile(
      join(dir, 'plugins', 'pager.mjs'),
      `export default {
        type: 'pager',
        description: 'Pages the on-call person.',
        options: { type: 'object', properties: { url: { type: 'string', description: 'Pager endpoint.' } }, required: ['url'] },
        create: () => ({ async send() {}, async close() {} }),
      };\n`,
    );
    await writeFile(join(dir, 'config.yaml'), 'plugins:\n  dir: ./plugins\n');
    const json = await schemaSinks({ config: join(dir, 'config.yaml') });
    assert.equal(json.code, 0);
    const doc = JSON.parse(json.text) as Record<string, { properties: Record<string, unknown> }>;
    assert.deepEqual(Object.keys(doc).sort(), ['file', 'http', 'pager', 'slack', 'stdout']);
    assert.ok('url' in doc.pager!.properties);
    const md = await schemaSinks({ config: join(dir, 'config.yaml'), format: 'markdown' });
    assert.equal(md.code, 0);
    assert.match(
      md.text,
      /## `pager`\n\nPages the on-call person\.\n\nPlugin: `.+pager\.mjs`\.\n\n(.|\n)*\| `url` \| string \| required \| Pager endpoint\. \|/,
    );
    assert.equal((await schemaSinks({ format: 'asyncapi' })).code, 2, 'asyncapi is not a sink format');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
