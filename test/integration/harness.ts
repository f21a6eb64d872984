// Test harness: the daemon as a real child process, a loopback HTTP target that records what it receives, and a poster.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { request } from 'undici';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'hookroute.js');

export async function tempDir(prefix = 'hookroute-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface DaemonProcess {
  child: ChildProcess;
  port: number;
  adminPort: number;
  url: string;
  /** Every log line (parsed JSON where possible) seen on stderr so far. */
  logs: Record<string, unknown>[];
  stdout: () => string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): void;
}

/** Write `config` (as YAML) and `pipelines` (name → YAML text or object) into `dir`, then start `hookroute start -c`. */
export async function startDaemonProcess(opts: {
  dir: string;
  config?: Record<string, unknown>;
  pipelines?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}): Promise<DaemonProcess> {
  const pipelinesDir = join(opts.dir, 'pipelines');
  await mkdir(pipelinesDir, { recursive: true });
  await mkdir(join(opts.dir, 'plugins'), { recursive: true });
  for (const [name, body] of Object.entries(opts.pipelines ?? {})) {
    await writeFile(join(pipelinesDir, `${name}.yaml`), typeof body === 'string' ? body : stringify(body));
  }
  const config = {
    server: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    pipelines: { dir: './pipelines' },
    plugins: { dir: './plugins' },
    storage: { dir: './data' },
    log: { level: 'info' },
    ...opts.config,
  };
  const configFile = join(opts.dir, 'config.yaml');
  await writeFile(configFile, stringify(config));
  const child = spawn(process.execPath, [BIN, 'start', '-c', configFile], {
    cwd: opts.dir,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const started = new Promise<{ port: number; adminPort: number }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => reject(new Error(`daemon did not start in time; logs:\n${JSON.stringify(logs, null, 1)}`)),
      opts.timeoutMs ?? 20_000,
    );
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      buf += c;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let rec: Record<string, unknown>;
        try {
          rec = JSON.parse(line) as Record<string, unknown>;
        } catch {
          rec = { raw: line };
        }
        logs.push(rec);
        if (rec.msg === 'hookroute started') {
          clearTimeout(timer);
          resolve({ port: rec.port as number, adminPort: rec.adminPort as number });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code}) before it started; logs:\n${JSON.stringify(logs, null, 1)}`));
    });
  });
  const { port, adminPort } = await started;
  return {
    child,
    port,
    adminPort,
    url: `http://127.0.0.1:${port}/webhook`,
    logs,
    stdout: () => out,
    exited,
    kill: (signal = 'SIGTERM') => void child.kill(signal),
  };
}

/** A loopback HTTP server that records JSON bodies. `mode` decides how it answers: ok (200), fail (503) or hang. */
export class Target {
  readonly received: unknown[] = [];
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.mode === 'hang') return;
        if (this.mode === 'fail') {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
          return;
        }
        try {
          this.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch {
          this.received.push(Buffer.concat(chunks).toString('utf8'));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/in`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }
}

/** A temp folder and a running loopback target for one test, both removed when the test ends. */
export async function sandbox(t: {
  after(fn: () => Promise<void> | void): void;
}): Promise<{ dir: string; target: Target }> {
  const { dir, cleanup } = await tempDir();
  const target = await new Target().start();
  t.after(async () => {
    await target.stop();
    await cleanup();
  });
  return { dir, target };
}

/** POST a JSON body; resolves with the status (0 on a network error). */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<number> {
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    return res.statusCode;
  } catch {
    return 0;
  }
}

/** Poll `check` every 50 ms until it returns true or `timeoutMs` passes; resolves with the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A realistic emailSend body carrying a unique `seq` for counting deliveries. */
export function emailSend(seq: number): Record<string, unknown> {
  return {
    email: `user${seq}@example.com`,
    eventName: 'emailSend',
    dataFields: {
      seq,
      campaignId: 59667,
      templateId: 93849,
      messageId: seq.toString(16).padStart(32, '0'),
      createdAt: '2016-12-02 20:21:04 +00:00',
      emailSubject: 'My subject',
      email: `user${seq}@example.com`,
    },
  };
}

/** A pipeline that forwards every event's seq to `url` with fast retries. */
export function forwardPipeline(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'forward',
    transform: '{ "seq": dataFields.seq, "eventName": eventName }',
    sinks: [
      {
        type: 'http',
        url,
        timeout: '2s',
        retry: { attempts: 100, initialDelay: '20ms', maxDelay: '200ms' },
        queue: { concurrency: 8 },
        breaker: { threshold: 1000, cooldown: '100ms' },
        ...extra,
      },
    ],
  };
}
