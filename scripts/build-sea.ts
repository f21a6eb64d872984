// `npm run build:sea`: a Node single executable application (SEA) in dist-sea/: `hookroute` (this Node binary with
// the CommonJS bundle injected) and node_modules/uWebSockets.js beside it (loader + this platform's native binary).
// Copy the whole folder; `./hookroute start -c config.yaml` needs no Node installed.
//
// In a SEA, require() in the main script loads built-ins only, so the bundle loads uWebSockets.js with
// createRequire(process.execPath): from node_modules next to the executable. Plugins (.js/.mjs) still load with
// import() from plugins.dir; `.ts` plugins do not load here (they need the esbuild package and ES module hooks).
// `--out DIR` builds elsewhere (the test uses a temp folder); `--measure` prints size and start-up time.
import { build } from 'esbuild';
import { copyUws } from './copy-uws.ts';
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 && process.argv[outArg + 1] ? resolve(process.argv[outArg + 1]!) : join(root, 'dist-sea');
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const exe = join(out, process.platform === 'win32' ? 'hookroute.exe' : 'hookroute');
const require = createRequire(import.meta.url);

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'hookroute-sea-'));
const started = performance.now();
try {
  // 1. One CommonJS script (a SEA main cannot be ESM): no top-level await, uWebSockets.js from beside the executable.
  await build({
    stdin: {
      contents:
        "import { main } from './src/cli/main.ts';\n" +
        'main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => { console.error(err); process.exitCode = 1; });\n',
      resolveDir: root,
      sourcefile: 'hookroute-sea-entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: join(work, 'hookroute.cjs'),
    external: ['tsx', 'tsx/*', 'lmdb', 'esbuild'], // esbuild: only the .ts plugin hooks import it, and .ts plugins do not load here
    plugins: [
      {
        name: 'uws-beside-executable',
        setup(b) {
          b.onResolve({ filter: /^uWebSockets\.js$/ }, () => ({
            path: 'uWebSockets.js',
            namespace: 'uws-beside-executable',
          }));
          b.onLoad({ filter: /.*/, namespace: 'uws-beside-executable' }, () => ({
            contents: "module.exports = require('node:module').createRequire(process.execPath)('uWebSockets.js');",
            loader: 'js',
          }));
        },
      },
    ],
    legalComments: 'none',
    logLevel: 'warning',
  });

  // 2. The preparation blob. No "useCodeCache": it saves ~40 ms of start-up CPU but on Node 20 breaks import() in the
  // main script ("A dynamic import callback was not specified"), so no plugin would load.
  const config = {
    main: join(work, 'hookroute.cjs'),
    output: join(work, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
  };
  await writeFile(join(work, 'sea-config.json'), JSON.stringify(config));
  const prep = spawnSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {
    encoding: 'utf8',
    cwd: work,
  });
  if (prep.status !== 0) throw new Error(`node --experimental-sea-config failed:\n${prep.stderr}`);

  // 3. A copy of this Node binary with the blob injected (macOS: unsigned first, ad-hoc signed after).
  await copyFile(process.execPath, exe);
  if (!(await readFile(exe)).includes(FUSE))
    throw new Error(`${process.execPath} has no ${FUSE}: this Node build cannot make single executables`);
  if (process.platform === 'darwin') run('codesign', ['--remove-signature', exe]);
  const blob = config.output;
  const postject = join(dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
  const macho = process.platform === 'darwin' ? ['--macho-segment-name', 'NODE_SEA'] : [];
  const inj = spawnSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', FUSE, ...macho], {
    encoding: 'utf8',
  });
  // postject's ELF reader prints harmless "Can't find string offset for section name" warnings: drop only those.
  const stderr = inj.stderr
    .split('\n')
    .filter((l) => l && !l.includes("Can't find string offset for section name"))
    .join('\n');
  if (inj.status !== 0) throw new Error(`postject failed:\n${inj.stdout}${stderr}`);
  if (stderr) console.warn(stderr);
  if (process.platform === 'darwin') run('codesign', ['--sign', '-', exe]);
} finally {
  await rm(work, { recursive: true, force: true });
}

// 4. uWebSockets.js and this Node's native binary (same ABI as the executable) beside it.
await copyUws(out);

const size = (await stat(exe)).size;
console.log(`built ${exe} (${mb(size)}, Node ${process.version}) in ${Math.round(performance.now() - started)} ms`);
if (process.argv.includes('--measure')) await measure();

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}`);
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

/** Start-up: spawn to the "hookroute started" log line, 2 warm-up runs then the median of 5; and the shipped size. */
async function measure(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-sea-measure-'));
  try {
    await writeFile(join(dir, 'config.yaml'), 'server:\n  host: 127.0.0.1\n  port: 0\nadmin:\n  port: 0\n');
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      const child = spawn(exe, ['start', '-c', join(dir, 'config.yaml')], {
        cwd: dir,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      const ms = await new Promise<number>((res, rej) => {
        let logs = '';
        child.stderr.setEncoding('utf8').on('data', (c: string) => {
          logs += c;
          if (logs.includes('"msg":"hookroute started"')) res(performance.now() - t0);
        });
        child.on('exit', (code) => rej(new Error(`exited ${code} before starting:\n${logs}`)));
      });
      child.kill('SIGTERM');
      await new Promise((r) => child.on('exit', r));
      if (i >= 2) times.push(ms);
    }
    times.sort((a, b) => a - b);
    console.log(
      `start-up (spawn to "hookroute started"), median of 5: ${Math.round(times[2]!)} ms [${times.map(Math.round).join(', ')}]`,
    );
    console.log(`size: executable ${mb((await stat(exe)).size)}, whole ${out} ${mb(await folderSize(out))}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
