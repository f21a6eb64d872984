// `npm run build`: bundle the CLI and daemon into dist/hookroute.js (plain `node dist/hookroute.js start`), with the
// uWebSockets.js loader and this platform's native binary copied to dist/node_modules so they resolve beside it.
import { build } from 'esbuild';
import { cp, mkdir, rm, writeFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __hookrouteRequire } from 'node:module'; const require = __hookrouteRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});

// uWebSockets.js loads its binary with a computed require: ship the loader, the JS fallback and only this platform's binary.
const require = createRequire(import.meta.url);
const uwsDir = dirname(dirname(require.resolve('uWebSockets.js')));
const target = join(dist, 'node_modules', 'uWebSockets.js');
await mkdir(join(target, 'binaries'), { recursive: true });
await cp(join(uwsDir, 'src'), join(target, 'src'), { recursive: true });
// The package's dist/ holds the JS fallback plus prebuilt .node files the loader never uses: only the JS is shipped.
await cp(join(uwsDir, 'dist'), join(target, 'dist'), { recursive: true, filter: (f) => !f.endsWith('.node') });
await cp(join(uwsDir, 'package.json'), join(target, 'package.json'));
await cp(join(uwsDir, 'LICENSE'), join(target, 'LICENSE')).catch(() => {});
const wanted = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
const binaries = await readdir(join(uwsDir, 'binaries'));
if (binaries.includes(wanted)) await cp(join(uwsDir, 'binaries', wanted), join(target, 'binaries', wanted));
else console.warn(`no native uWebSockets.js binary for ${wanted}: the bundle will use the slow JS fallback`);
await writeFile(join(dist, 'package.json'), JSON.stringify({ type: 'module' }, null, 2) + '\n');
console.log(`built ${join(dist, 'hookroute.js')} in ${Math.round(performance.now() - started)} ms`);
