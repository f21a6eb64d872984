// Child processes under test: spawned pinned to the server cores, port read from stderr, always killed on exit.
import { spawn, type ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/** The most telling stderr lines for an error report: error lines first, else the last few, bounded. */
export function describeTail(tail: string[]): string {
  const errors = tail.filter((l) => /error|cannot|fail/i.test(l) && !/^\s+at /.test(l));
  const pick = errors.length ? errors.slice(0, 2) : tail.filter((l) => l.trim()).slice(-3);
  return pick.join(' | ').slice(0, 400) || 'no output';
}

export interface ServerChild {
  child: ChildProcess;
  pid: number;
  /** The last stderr lines (bounded), for error reports. */
  stderrTail(): string[];
  /** Called with every complete stderr line. */
  onLine(fn: (line: string) => void): void;
  /** Resolves with the first /"port":(\d+)/ on stderr; rejects when the child exits or `timeoutMs` passes. */
  waitForPort(timeoutMs: number): Promise<number>;
  /** Resolves when the child has exited (or immediately if it has). */
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawn `node <args>` pinned with taskset to `cores` (when given), capturing stderr lines.
 * @example const s = spawnServer(['--import', 'tsx', 'bench/baselines/ceiling.ts'], { cores: '0' }); await s.waitForPort(10_000);
 */
export function spawnServer(
  args: string[],
  opts: { cores?: string | undefined; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ServerChild {
  hookExit();
  const [cmd, argv] = opts.cores
    ? ['taskset', ['-c', opts.cores, process.execPath, ...args]]
    : [process.execPath, args];
  const child = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  const tail: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  let partial = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    if (partial.length > 1 << 20) partial = ''; // a runaway line must not grow the harness without bound
    for (const line of parts) {
      tail.push(line);
      if (tail.length > 40) tail.shift();
      for (const fn of listeners) fn(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code) => {
      live.delete(child);
      resolve(code);
    });
    child.on('error', () => {
      live.delete(child);
      resolve(null);
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    stderrTail: () => [...tail],
    onLine: (fn) => listeners.push(fn),
    exited,
    waitForPort(timeoutMs) {
      return new Promise<number>((resolve, reject) => {
        const found = tail.map((l) => /"port":(\d+)/.exec(l)).find((m) => m);
        if (found) return resolve(Number(found[1]));
        const timer = setTimeout(() => reject(new Error(`no "port" line on stderr within ${timeoutMs} ms`)), timeoutMs);
        listeners.push((line) => {
          const m = /"port":(\d+)/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`exited with code ${code}: ${describeTail(tail)}`));
        });
      });
    },
    async stop(graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
