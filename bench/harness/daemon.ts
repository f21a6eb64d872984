// Runs the real daemon as a child process with a generated temp config and pipelines folder.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { Unavailable, type BenchContext } from '../scenarios/types.ts';
import { describeTail, spawnServer, type ServerChild } from './children.ts';
import { freePort } from './free-port.ts';
import { repoRoot } from './paths.ts';

export interface DaemonOptions {
  /** Build the pipeline files, given the folder where file sinks should write. */
  pipelines(outDir: string): Record<string, string>;
  fsync?: 'batch' | 'always' | 'off';
  watch?: boolean;
  logLevel?: string;
  /** An `auth:` config line, and the headers every request then needs (the readiness check included). */
  auth?: { yaml: string; headers: Record<string, string> };
  /** `server.engine` (default: auto). */
  engine?: 'auto' | 'uws' | 'node';
}

export interface Daemon {
  url: string;
  adminUrl: string;
  pid: number;
  dir: string;
  outDir: string;
  pipelinesDir: string;
  server: ServerChild;
  /** SIGTERM (profile written on a clean exit), then remove the temp folder. */
  stop(): Promise<void>;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(500);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function waitListening(server: ServerChild, port: number, timeoutMs: number): Promise<void> {
  let exited = false;
  void server.exited.then(() => (exited = true));
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (exited) throw new Unavailable(`daemon exited before listening: ${describeTail(server.stderrTail())}`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Unavailable(
    `daemon did not listen on its port within ${timeoutMs} ms: ${describeTail(server.stderrTail())}`,
  );
}

/** Why the daemon cannot run at all yet, or undefined when its entry points exist. */
export function daemonMissing(): string | undefined {
  for (const f of ['bin/hookroute.js', 'src/cli/main.ts'])
    if (!existsSync(join(repoRoot, f))) return `daemon not built yet (${f} missing)`;
  return undefined;
}

/**
 * Start `hookroute start -c <temp config>` pinned to the server cores, wait until it accepts a valid event.
 * @example const d = await startDaemon(ctx, { pipelines: () => ({}) }); ...; await d.stop();
 */
export async function startDaemon(ctx: BenchContext, opts: DaemonOptions): Promise<Daemon> {
  const missing = daemonMissing();
  if (missing) throw new Unavailable(missing);
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-bench-'));
  const outDir = join(dir, 'out');
  const pipelinesDir = join(dir, 'pipelines');
  await Promise.all([mkdir(outDir), mkdir(pipelinesDir), mkdir(join(dir, 'plugins')), mkdir(join(dir, 'data'))]);
  for (const [name, yaml] of Object.entries(opts.pipelines(outDir))) await writeFile(join(pipelinesDir, name), yaml);
  const [port, adminPort] = [await freePort(), await freePort()];
  const config = [
    `server: { host: 127.0.0.1, port: ${port}, path: /webhook, engine: ${opts.engine ?? 'auto'} }`,
    `pipelines: { dir: ${JSON.stringify(pipelinesDir)}, watch: ${opts.watch ?? false} }`,
    `plugins: { dir: ${JSON.stringify(join(dir, 'plugins'))} }`,
    `storage: { dir: ${JSON.stringify(join(dir, 'data'))}, fsync: ${opts.fsync ?? 'batch'} }`,
    `admin: { host: 127.0.0.1, port: ${adminPort} }`,
    `log: { level: ${opts.logLevel ?? 'info'}, format: json }`,
    'shutdown: { grace: 2s }',
    ...(opts.auth ? [opts.auth.yaml] : []),
  ].join('\n');
  const configFile = join(dir, 'config.yaml');
  await writeFile(configFile, `${config}\n`);
  const nodeFlags = ctx.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir] : [];
  const server = spawnServer([...nodeFlags, join(repoRoot, 'bin', 'hookroute.js'), 'start', '-c', configFile], {
    cores: ctx.serverCores,
    cwd: dir,
  });
  const cleanup = async () => {
    await server.stop(ctx.cpuProf ? 30_000 : 5000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitListening(server, port, 30_000);
    const url = `http://127.0.0.1:${port}/webhook`;
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...opts.auth?.headers },
      body: ctx.bodies[0]!,
      headersTimeout: 10_000,
    });
    const text = (await res.body.text()).slice(0, 200);
    if (res.statusCode < 200 || res.statusCode >= 300)
      throw new Unavailable(`daemon answered ${res.statusCode} to a valid event: ${text}`);
  } catch (err) {
    await cleanup();
    if (err instanceof Unavailable) throw err;
    throw new Unavailable(`daemon not usable: ${(err as Error).message}`);
  }
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    pid: server.pid,
    dir,
    outDir,
    pipelinesDir,
    server,
    stop: cleanup,
  };
}
