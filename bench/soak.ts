// The soak: the real daemon under steady load, its destination flapping, killed with SIGKILL every few seconds at
// random and started again; at the end every acknowledged event must have been delivered. Prints acknowledged,
// delivered, lost (must be 0), duplicates and the longest recovery (kill to the next 200). Exit 1 if anything is lost.
//   npm run soak                      # five minutes
//   npm run soak -- --duration 30s    # what CI runs
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { parseDuration } from '../src/schema-kit/units.ts';
import { sampleEvent } from '../src/events/samples.ts';
import { DeadLetterStore } from '../src/dead-letters/store.ts';
import { deadLetterDir } from '../src/journal/layout.ts';
import { freePort } from './harness/free-port.ts';
import { repoRoot } from './harness/paths.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5m' },
    workers: { type: 'string', default: '16' },
    'kill-every': { type: 'string', default: '2s-6s' },
    fsync: { type: 'string', default: 'batch' },
    'keep-dir': { type: 'boolean', default: false },
  },
});
const durationMs = parseDuration(args.duration!);
const workers = Number(args.workers);
const [killMin, killMax] = args['kill-every']!.split('-').map((d) => parseDuration(d)) as [number, number];
const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The destination: answers 200, or 503 for a while, or is slow; switches every 0.3 to 3 seconds. */
function flappingDestination() {
  const received = new Map<number, number>();
  let mode: 'ok' | 'down' | 'slow' = 'ok';
  let flips = 0;
  let stopped = false;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (mode === 'down') return void res.writeHead(503).end('down');
      const answer = () => {
        const { seq } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { seq: number };
        received.set(seq, (received.get(seq) ?? 0) + 1);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      };
      if (mode === 'slow') setTimeout(answer, 200);
      else answer();
    });
  });
  const flap = async () => {
    while (!stopped) {
      await sleep(between(300, 3000));
      if (stopped) break;
      mode = Math.random() < 0.5 ? 'ok' : Math.random() < 0.7 ? 'down' : 'slow';
      flips++;
    }
  };
  return {
    received,
    get flips() {
      return flips;
    },
    async start(): Promise<number> {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      void flap();
      return (server.address() as { port: number }).port;
    },
    /** Stop flapping and answer 200 from now on (the drain at the end). */
    heal() {
      stopped = true;
      mode = 'ok';
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'hookroute-soak-'));
  const destination = flappingDestination();
  const destPort = await destination.start();
  const port = await freePort();
  const adminPort = await freePort();
  await mkdir(join(dir, 'pipelines'));
  await mkdir(join(dir, 'plugins'));
  await writeFile(
    join(dir, 'pipelines', 'forward.yaml'),
    stringify({
      name: 'forward',
      transform: '{ "seq": dataFields.soakSeq }',
      sinks: [
        {
          type: 'http',
          url: `http://127.0.0.1:${destPort}/in`,
          timeout: '1s',
          retry: { attempts: 100, initialDelay: '50ms', maxDelay: '1s' },
        },
      ],
    }),
  );
  const configFile = join(dir, 'config.yaml');
  await writeFile(
    configFile,
    stringify({
      server: { host: '127.0.0.1', port },
      admin: { host: '127.0.0.1', port: adminPort },
      pipelines: { dir: './pipelines', watch: false },
      plugins: { dir: './plugins' },
      storage: { dir: './data', fsync: args.fsync, segmentBytes: '1mb' },
      log: { level: 'warn' },
    }),
  );

  const check = spawnSync(process.execPath, [join(repoRoot, 'bin', 'hookroute.js'), 'validate', '-c', configFile], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (check.status !== 0) throw new Error(`soak config does not validate:\n${check.stdout}${check.stderr}`);

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const startDaemon = () => {
    child = spawn(process.execPath, [join(repoRoot, 'bin', 'hookroute.js'), 'start', '-c', configFile], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const c = child;
    exited = new Promise((r) => c.once('exit', () => r()));
  };

  const url = `http://127.0.0.1:${port}/webhook`;
  const agent = new Agent({ connections: workers, pipelining: 1 });
  const acked = new Set<number>();
  let refused = 0;
  let next = 0;
  let loading = true;
  /** Set from a kill until the next 200: the recovery being timed. */
  let killedAt: number | undefined;
  let longestRecoveryMs = 0;
  const recoveries: number[] = [];
  const worker = async () => {
    while (loading) {
      const seq = next++;
      const body = { ...sampleEvent('emailSend', seq), dataFields: { ...sampleDataFields(seq), soakSeq: seq } };
      let status = 0;
      try {
        const res = await request(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          dispatcher: agent,
          headersTimeout: 5000,
          bodyTimeout: 5000,
        });
        await res.body.dump();
        status = res.statusCode;
      } catch {
        status = 0;
      }
      if (status === 200) {
        acked.add(seq);
        if (killedAt !== undefined) {
          const ms = performance.now() - killedAt;
          killedAt = undefined;
          recoveries.push(ms);
          longestRecoveryMs = Math.max(longestRecoveryMs, ms);
        }
      } else {
        refused++;
        await sleep(20);
      }
    }
  };

  const started = performance.now();
  startDaemon();
  const load = Array.from({ length: workers }, worker);
  let kills = 0;
  const left = () => durationMs - (performance.now() - started);
  while (left() > 0) {
    // Kill a few seconds after the daemon is back (its first 200), never while it is still starting.
    while (killedAt !== undefined && left() > 0) await sleep(20);
    await sleep(Math.min(between(killMin, killMax), Math.max(0, left())));
    if (left() <= 0) break;
    child!.kill('SIGKILL');
    await exited;
    kills++;
    killedAt = performance.now();
    startDaemon();
  }
  loading = false;
  await Promise.all(load);

  // The drain: the destination stays up, the last daemon delivers everything owed.
  destination.heal();
  const drainStart = performance.now();
  const missing = () => [...acked].filter((s) => !destination.received.has(s));
  while (missing().length > 0 && performance.now() - drainStart < 120_000) await sleep(200);
  const drainMs = performance.now() - drainStart;
  child!.kill('SIGTERM');
  await exited;
  await destination.close();
  await agent.close();

  // An event the destination never got may be in the dead-letter queue (100 attempts failed): kept, not lost.
  const deadLettered = new Set<number>();
  const dlq = await DeadLetterStore.open(deadLetterDir(join(dir, 'data')));
  for await (const d of dlq.list()) deadLettered.add((d.event.dataFields as { soakSeq: number }).soakSeq);
  await dlq.close();
  const lost = missing().filter((s) => !deadLettered.has(s));
  let duplicates = 0;
  let deliveredAcked = 0;
  let deliveredUnacked = 0;
  for (const [seq, n] of destination.received) {
    duplicates += n - 1;
    if (acked.has(seq)) deliveredAcked++;
    else deliveredUnacked++;
  }
  const result = {
    durationS: Math.round(durationMs / 1000),
    fsync: args.fsync,
    kills,
    destinationFlips: destination.flips,
    sent: next,
    acknowledged: acked.size,
    refused,
    delivered: deliveredAcked,
    deadLettered: [...deadLettered].filter((s) => acked.has(s)).length,
    deliveredNotAcknowledged: deliveredUnacked,
    lost: lost.length,
    duplicates,
    longestRecoveryMs: Math.round(longestRecoveryMs),
    medianRecoveryMs: Math.round(recoveries.sort((a, b) => a - b)[recoveries.length >> 1] ?? 0),
    drainMs: Math.round(drainMs),
  };
  for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(26)} ${v}`);
  console.log(JSON.stringify(result));
  if (lost.length > 0) console.error(`LOST acknowledged events: ${lost.slice(0, 50).join(', ')}`);
  if (!args['keep-dir']) await rm(dir, { recursive: true, force: true });
  else console.error(`storage kept in ${dir}`);
  process.exitCode = lost.length > 0 || acked.size === 0 ? 1 : 0;
}

/** emailSend's dataFields for `seq` (sampleEvent may put fields at the top level or in dataFields). */
function sampleDataFields(seq: number): Record<string, unknown> {
  const e = sampleEvent('emailSend', seq);
  return (e.dataFields as Record<string, unknown> | undefined) ?? {};
}

await main();
