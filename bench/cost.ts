// `npm run bench:cost -- <scenario>`: the daemon's CPU time per accepted event (µs), from /proc/<pid>/stat.
// CPU time, unlike requests/s, barely moves when other work shares the machine, so it is the figure to
// compare before and after a change to the hot path. Scenarios: none (ingress only), route (20 mixed
// pipelines, file sinks), fanout (5 file sinks, one JSONata transform), nojs (5 file sinks, no transform: the
// delivery path without JSONata). Sends a fixed number of events, waits for the sinks to
// settle, then reads utime+stime of the daemon process.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedLoop } from './harness/load.ts';
import { fanoutPipeline, mixedPipelines } from './harness/pipeline-files.ts';
import { loadBodyMix } from './harness/bodies.ts';
import { countSinkLines, waitForSinkLines } from './harness/sink-files.ts';
import { repoRoot } from './harness/paths.ts';

const scenario = process.argv[2] ?? 'route';
const events = Number(process.argv.find((a) => a.startsWith('--events='))?.slice(9) ?? 20_000);
const fromSource = process.argv.includes('--source');
const prof = process.argv.includes('--cpu-prof');

function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
}

const bodies = (await loadBodyMix(2000)).bodies;
const dir = mkdtempSync(join(tmpdir(), 'hookroute-cost-'));
const out = join(dir, 'out');
mkdirSync(join(dir, 'p'));
mkdirSync(out);
const scenarios: Record<string, () => Record<string, string>> = {
  none: () => ({}),
  route: () => mixedPipelines(20, out),
  fanout: () => fanoutPipeline(5, out),
  nojs: () => fanoutPipeline(5, out, { transform: false }),
};
if (!scenarios[scenario]) throw new Error(`unknown scenario ${scenario}: one of ${Object.keys(scenarios).join(', ')}`);
const files = scenarios[scenario]!();
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'p', name), text);
writeFileSync(
  join(dir, 'c.yaml'),
  'server: {host: 127.0.0.1, port: 0}\nadmin: {port: 0}\npipelines: {dir: ./p, watch: false}\nstorage: {dir: ./data}\nlog: {level: info}\n',
);
const entry = fromSource ? [join(repoRoot, 'bin', 'hookroute.js')] : [join(repoRoot, 'dist', 'hookroute.js')];
const child = spawn(
  process.execPath,
  [
    ...(prof ? ['--cpu-prof', '--cpu-prof-dir', join(repoRoot, 'bench', 'results', 'profiles')] : []),
    ...entry,
    'start',
    '-c',
    join(dir, 'c.yaml'),
  ],
  {
    stdio: ['ignore', 'ignore', 'pipe'],
  },
);
let log = '';
child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
const deadline = Date.now() + 30_000;
while (!log.includes('hookroute started')) {
  if (Date.now() > deadline || child.exitCode !== null) throw new Error(`daemon did not start:\n${log}`);
  await new Promise((r) => setTimeout(r, 50));
}
const port = Number(/"port":(\d+),"adminPort"/.exec(log)![1]);
const before = cpuMs(child.pid!);
const t0 = performance.now();
const r = await closedLoop({
  url: `http://127.0.0.1:${port}/webhook`,
  bodies,
  connections: 32,
  durationSec: 60,
  amount: events,
  maxSec: 120,
});
const { lines } =
  scenario === 'none' ? { lines: 0 } : await waitForSinkLines(out, Number.POSITIVE_INFINITY, 1500, 120_000);
const spent = cpuMs(child.pid!) - before;
const wall = performance.now() - t0;
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
rmSync(dir, { recursive: true, force: true });
const accepted = Math.round(r.rps * 0) + (r.total - r.failed);
console.log(
  JSON.stringify({
    scenario,
    accepted,
    failed: r.failed,
    sinkLines: lines,
    cpuUsPerEvent: Math.round((spent * 1000) / accepted),
    rps: Math.round(r.rps),
    wallMs: Math.round(wall),
  }),
);
void countSinkLines;
