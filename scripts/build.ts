// `npm run build` (and `prepack`): every build step, into dist/. The npm package ships dist/ (without dist/node_modules).
// 1. esbuild: the CLI (dist/hookroute.js, run by bin/hookroute.js) and the plugin API (dist/index.js, what
//    `import ... from 'hookroute'` loads) as ES modules sharing chunks, so a plugin gets the daemon's own instances.
//    Dependencies are bundled (a fast start); uWebSockets.js (native), esbuild (transpiles .ts plugins) stay external.
// 2. tsc -p tsconfig.build.json: the plugin API's declarations (dist/types/).
// 3. uWebSockets.js and this platform's native binary copied to dist/node_modules, so dist/ alone also runs with plain
//    `node dist/hookroute.js start` (Docker, systemd); installed as a package, the dependency is used instead.
import { build } from 'esbuild';
import { copyUws } from './copy-uws.ts';
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
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
  absWorkingDir: root,
  entryPoints: {
    hookroute: 'src/cli/bin.ts',
    index: 'src/index.ts',
    'ts-plugin-hooks': 'src/sinks/ts-plugin-hooks.ts',
  },
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: dist,
  external: ['uWebSockets.js', 'uws-btc', 'esbuild'],
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: {
    js: "import { createRequire as __hookrouteRequire } from 'node:module'; const require = __hookrouteRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});

const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const types = spawnSync(
  process.execPath,
  [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dist, 'types')],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (types.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${types.status})`);

await copyUws(dist);
await writeFile(join(dist, 'package.json'), JSON.stringify({ type: 'module' }, null, 2) + '\n');
console.log(`built ${dist} in ${Math.round(performance.now() - started)} ms`);
