// The npm package as a user gets it: `npm pack` (prepack builds dist/), the tarball installed into a fresh
// `"type": "commonjs"` folder (npm init -y; dependencies from the npm cache or registry), a TypeScript plugin
// typechecked against the package's types, then `npx hookroute start` with a .ts and a .mjs plugin importing
// 'hookroute': one event in, both plugins deliver it. The checkout is packed from a copy, so its own dist/ (which
// bin/hookroute.js would prefer) is never written while other test files run the daemon from source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { cp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, post, tempDir, waitFor } from './integration/harness.ts';

/** The child's environment without what `npm test` puts there (npm_config_*, npm_package_*), so the nested npm acts as a user's. */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_OPTIONS' && k !== 'INIT_CWD'),
);

function run(cmd: string, args: string[], cwd: string, opts: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { cwd, env: cleanEnv, encoding: 'utf8', timeout: 120_000, ...opts });
  return { status: r.status, stdout: String(r.stdout ?? ''), out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Runs it, fails the test unless it exits 0, and returns its stdout. */
function must(cmd: string, args: string[], cwd: string): string {
  const r = run(cmd, args, cwd);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} in ${cwd}:\n${r.out}`);
  return r.stdout;
}

/** Writes `path` as JSON Lines; the same plugin body in TypeScript (typed against 'hookroute') and in plain JS. */
const pluginBody = (type: string, typed: boolean) => `import { appendFile } from 'node:fs/promises';
import { defineSink, ok, Type${typed ? ', type SendOutcome, type Static' : ''} } from 'hookroute';
const options = Type.Object({ path: Type.String() });
export default defineSink({
  type: '${type}',
  description: 'appends each payload to a file',
  options,
  create: (o${typed ? ': Static<typeof options>' : ''}) => ({
    async send(payload${typed ? ': unknown): Promise<SendOutcome>' : ')'} {
      await appendFile(o.path, JSON.stringify(payload) + '\\n');
      return ok();
    },
    async close() {},
  }),
});
`;

/** A .ts plugin that only loads as an ES module: `import type`, a helper imported by tsc's `.js` convention, import.meta. */
async function writeEsmOnlyTsPlugin(dir: string, type: string): Promise<void> {
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(join(dir, 'lib', 'name.ts'), `export const sinkType = (s: string): string => 'ts-' + s;\n`);
  await writeFile(
    join(dir, 'typed.ts'),
    `import type { IncomingMessage } from 'node:http';
import { sinkType } from './lib/name.js';
export type Unused = IncomingMessage;
const here: string = import.meta.url;
export default { type: sinkType('${type}'), description: here, options: { type: 'object' },
  create: () => ({ async send() {}, async close() {} }) };\n`,
  );
}

test('the packed tarball installs into a CommonJS folder, typechecks a plugin and runs .ts and .mjs plugins', async (t) => {
  const { dir, cleanup } = await tempDir('hookroute-package-');
  t.after(cleanup);

  // 1. Pack a copy of the checkout (prepack runs `npm run build` there).
  const checkout = join(dir, 'checkout');
  const skip = new Set(['node_modules', '.git', 'dist', 'dist-sea', 'data', '.tmp']);
  await cp(ROOT, checkout, { recursive: true, filter: (src) => src === ROOT || !skip.has(basename(src)) });
  await symlink(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  const packOut = must('npm', ['pack', '--json', '--pack-destination', dir], checkout);
  // The build's own output comes first on stdout; the JSON report is the array at the end.
  const packed = JSON.parse(packOut.slice(packOut.search(/^\[/m))) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = packed[0]!.files.map((f) => f.path);
  for (const wanted of ['bin/hookroute.js', 'dist/hookroute.js', 'dist/index.js', 'dist/types/index.d.ts'])
    assert.ok(files.includes(wanted), `${wanted} is in the package`);
  const unwanted = files.filter((f) =>
    /^(src|test|bench|scripts|spec|deploy|\.ci)\/|^dist\/node_modules\/|\.(pem|key|map)$|^tsconfig/.test(f),
  );
  assert.deepEqual(unwanted, [], 'no sources, tests, bench results, CI files, keys or source maps');

  // 2. Install it where a user would: a fresh folder whose package.json says "type": "commonjs".
  const app = join(dir, 'app');
  await mkdir(app);
  must('npm', ['init', '-y'], app);
  must('npm', ['pkg', 'set', 'type=commonjs'], app); // npm 11 writes it already; older npm leaves it out
  must('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, packed[0]!.filename)], app);
  assert.ok(
    !existsSync(join(app, 'node_modules', 'tsx')),
    'the installed daemon runs without tsx: it is not installed',
  );

  // 3. The TypeScript plugin typechecks against the package's types, and a wrong one does not.
  const plugins = join(app, 'plugins');
  await mkdir(plugins);
  await writeFile(join(plugins, 'echo-ts.ts'), pluginBody('echo-ts', true));
  await writeFile(join(plugins, 'echo-mjs.mjs'), pluginBody('echo-mjs', false));
  // skipLibCheck as `tsc --init` writes it (checking @types/node costs seconds); the wrong plugin below shows that the
  // package's types still type the plugin (an unresolvable .d.ts would make them `any`, and it would pass).
  const tsconfig = (include: string) => ({
    compilerOptions: {
      strict: true,
      skipLibCheck: true,
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      noEmit: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    },
    include: [include],
  });
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify(tsconfig('plugins/echo-ts.ts')));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  must(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
  await mkdir(join(app, 'wrong'));
  await writeFile(
    join(app, 'wrong', 'bad.ts'),
    pluginBody('bad', true).replace('return ok();', "return { ok: 'yes' };"),
  );
  await writeFile(join(app, 'tsconfig.wrong.json'), JSON.stringify(tsconfig('wrong/bad.ts')));
  const wrong = run(process.execPath, [tsc, '-p', 'tsconfig.wrong.json'], app);
  assert.notEqual(wrong.status, 0, 'a plugin returning a bad SendOutcome is a type error');
  assert.match(wrong.out, /bad\.ts\(\d+,\d+\): error TS2322/);

  // 4. .ts plugins load as ES modules in a "type": "module" folder and in one with no package.json as well.
  const esm = join(app, 'esm');
  await writeEsmOnlyTsPlugin(join(esm, 'plugins'), 'module');
  await writeFile(join(esm, 'package.json'), JSON.stringify({ type: 'module' }));
  const { dir: bare, cleanup: cleanupBare } = await tempDir('hookroute-package-bare-');
  t.after(cleanupBare);
  await writeEsmOnlyTsPlugin(join(bare, 'plugins'), 'none');
  await writeEsmOnlyTsPlugin(join(app, 'cjs-plugins'), 'commonjs');
  await mkdir(join(dir, 'no-pipelines'));
  for (const [pluginsDir, type] of [
    [join(app, 'cjs-plugins'), 'commonjs'],
    [join(esm, 'plugins'), 'module'],
    [join(bare, 'plugins'), 'none'],
  ] as const) {
    const config = join(dir, `validate-${type}.yaml`);
    await writeFile(config, stringify({ plugins: { dir: pluginsDir }, pipelines: { dir: join(dir, 'no-pipelines') } }));
    const out = must(join(app, 'node_modules', '.bin', 'hookroute'), ['validate', '-c', config], app);
    assert.match(out, /1 plugins/, `the .ts plugin in a "${type}" folder loads:\n${out}`);
  }

  // 5. `npx hookroute start`, one event, both plugins deliver it.
  await mkdir(join(app, 'pipelines'));
  await writeFile(
    join(app, 'pipelines', 'echo.yaml'),
    stringify({
      sinks: [
        { type: 'echo-ts', path: './out-ts.jsonl' },
        { type: 'echo-mjs', path: './out-mjs.jsonl' },
      ],
    }),
  );
  await writeFile(join(app, 'config.yaml'), stringify({ server: { host: '127.0.0.1', port: 0 }, admin: { port: 0 } }));
  const child = spawn('npx', ['--no-install', 'hookroute', 'start'], {
    cwd: app,
    env: cleanEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true, // its own process group: npx runs the daemon as a child of its own
  });
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let logs = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (logs += c));
  assert.ok(await waitFor(() => logs.includes('hookroute started'), 30_000), logs);
  assert.doesNotMatch(logs, /plugin failed to load/);
  const port = Number(/"port":(\d+),"adminPort"/.exec(logs)?.[1]);
  const event = { email: 'u@x.com', eventName: 'emailOpen', dataFields: { campaignId: 7 } };
  assert.equal(await post(`http://127.0.0.1:${port}/webhook`, event), 200);
  const delivered = async (file: string) =>
    (await readFile(join(app, file), 'utf8').catch(() => '')).includes('"campaignId":7');
  assert.ok(
    await waitFor(async () => (await delivered('out-ts.jsonl')) && (await delivered('out-mjs.jsonl')), 15_000),
    logs,
  );
  process.kill(-child.pid!, 'SIGTERM');
  assert.ok(await waitFor(() => logs.includes('"msg":"stopped"'), 15_000), logs);
});
