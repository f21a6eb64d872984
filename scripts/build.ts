// `npm run build`: bundle the CLI and daemon into dist/hookroute.js (plain `node dist/hookroute.js start`), with the
// uWebSockets.js loader and this platform's native binary copied to dist/node_modules so they resolve beside it.
import { build } from 'esbuild';
import { copyUws } from './copy-uws.ts';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// `--out DIR` builds elsewhere (the build test uses a temp folder).
const outArg = process.argv.indexOf('--out');
const dist = outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1]!) : join(root, 'dist');
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });

const started = performance.now();
await build({
  stdin: {
    contents: "import { main } from './src/cli/main.ts';\nprocess.exitCode = await main(process.argv.slice(2));\n",
    resolveDir: root,
    sourcefile: 'hookroute-entry.ts',
    loader: 'ts',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: join(dist, 'hookroute.js'),
  external: ['uWebSockets.js', 'tsx', 'tsx/*', 'lmdb'],
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __hookrouteRequire } from 'node:module'; const require = __hookrouteRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});

await copyUws(dist);
await writeFile(join(dist, 'package.json'), JSON.stringify({ type: 'module' }, null, 2) + '\n');
console.log(`built ${join(dist, 'hookroute.js')} in ${Math.round(performance.now() - started)} ms`);
