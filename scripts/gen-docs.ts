// `npm run docs`: rewrites config.example.yaml, docs/config.md, docs/errors.md, docs/sinks.md and the README's config reference block from their schemas and tables.
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  renderConfigDoc,
  renderConfigExample,
  renderConfigReference,
  replaceReferenceBlock,
} from '../src/config/docs.ts';
import { renderErrorDoc } from '../src/errors.ts';
import { BUILT_IN_SINKS } from '../src/sinks/registry.ts';
import { renderSinkDocs } from '../src/sinks/docs.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function main(): Promise<void> {
  await writeFile(path.join(root, 'config.example.yaml'), renderConfigExample());
  console.log('wrote config.example.yaml');
  await mkdir(path.join(root, 'docs'), { recursive: true });
  await writeFile(path.join(root, 'docs', 'config.md'), renderConfigDoc());
  console.log('wrote docs/config.md');
  await writeFile(path.join(root, 'docs', 'errors.md'), renderErrorDoc());
  console.log('wrote docs/errors.md');
  const builtIns = BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' }));
  await writeFile(path.join(root, 'docs', 'sinks.md'), renderSinkDocs(builtIns));
  console.log('wrote docs/sinks.md');
  // README.md belongs to its own author: only the block between the markers is ours, and only when the markers are there.
  const readmeFile = path.join(root, 'README.md');
  const readme = await readIfExists(readmeFile);
  const updated = readme === undefined ? undefined : replaceReferenceBlock(readme, renderConfigReference());
  if (updated === undefined) {
    console.log('README.md has no config-reference markers: left alone');
  } else if (updated !== readme) {
    await writeFile(readmeFile, updated);
    console.log('updated the config reference in README.md');
  }
}

await main();
