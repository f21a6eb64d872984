// `npm run bench`: runs the baselines and daemon scenarios, N times each, and writes JSON, markdown and SVG reports.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadBodyMix } from './harness/bodies.ts';
import { renderChart } from './harness/chart-svg.ts';
import { pinGenerator } from './harness/cpu.ts';
import { machineInfo } from './harness/machine.ts';
import { benchDir } from './harness/paths.ts';
import { evaluateTargets, summarize, toMarkdown, type BenchReport, type ScenarioResult } from './harness/report.ts';
import { backlog } from './scenarios/backlog.ts';
import { ceiling, durableCeiling, naive } from './scenarios/baselines.ts';
import { fanout } from './scenarios/fanout.ts';
import { httpSink } from './scenarios/http-sink.ts';
import { ingress, ingressNode } from './scenarios/ingress.ts';
import { ingressJwt } from './scenarios/ingress-jwt.ts';
import { reload } from './scenarios/reload.ts';
import { remoteHttp } from './scenarios/remote-http.ts';
import { route } from './scenarios/route.ts';
import { Unavailable, type BenchContext, type Figures, type Scenario, type Series } from './scenarios/types.ts';

/** Baselines first in each round; rounds repeat the whole list, so baselines interleave with the scenarios. */
const ALL: Scenario[] = [
  ceiling,
  durableCeiling,
  naive,
  ingress,
  ingressNode,
  ingressJwt,
  route,
  fanout,
  httpSink,
  remoteHttp,
  backlog,
  reload,
];

const USAGE = `usage: tsx bench/run.ts [--quick] [--only a,b] [--runs N] [--out DIR] [--duration SEC] [--backlog-events N] [--cpu-prof]
scenarios: ${ALL.map((s) => s.name).join(', ')}`;

function parse() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      runs: { type: 'string' },
      out: { type: 'string' },
      duration: { type: 'string' },
      'backlog-events': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const int = (v: string | undefined, def: number, name: string, max: number) => {
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer 1..${max}\n${USAGE}`);
    return n;
  };
  const quick = values.quick;
  const only = values.only
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = only?.filter((n) => !ALL.some((s) => s.name === n)) ?? [];
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}\n${USAGE}`);
  return {
    quick,
    scenarios: only ? ALL.filter((s) => only.includes(s.name)) : ALL,
    runs: int(values.runs, quick ? 1 : 3, 'runs', 50),
    out: resolve(values.out ?? join(benchDir, 'results')),
    durationSec: int(values.duration, quick ? 1 : 10, 'duration', 3600),
    backlogEvents: int(values['backlog-events'], quick ? 2000 : 1_000_000, 'backlog-events', 50_000_000),
    cpuProf: values['cpu-prof'],
  };
}

/** Every run of every scenario, round-robin (round 1 of all, then round 2, ...), so a busy minute on a shared
 * machine hits baselines and scenarios alike instead of one scenario's every run. */
async function runInterleaved(scenarios: Scenario[], ctx: BenchContext, runs: number): Promise<ScenarioResult[]> {
  const state = scenarios.map(() => ({
    figures: [] as Figures[],
    notes: [] as string[],
    series: undefined as Record<string, Series> | undefined,
    reason: undefined as string | undefined,
  }));
  for (let i = 1; i <= runs; i++) {
    for (const [k, s] of scenarios.entries()) {
      const st = state[k]!;
      if (st.reason) continue; // a scenario that failed once is not retried
      ctx.log(`${s.name}: run ${i}/${runs}`);
      try {
        const out = await s.run(ctx);
        st.figures.push(out.figures);
        st.series = out.series ?? st.series;
        for (const n of out.notes ?? []) if (st.notes.length < 20) st.notes.push(`run ${i}: ${n}`);
      } catch (err) {
        // Unavailable is expected while the daemon is being built; anything else is a harness or daemon failure.
        st.reason =
          err instanceof Unavailable
            ? err.message
            : `error: ${(err as Error).stack?.split('\n').slice(0, 2).join(' ') ?? String(err)}`;
        ctx.log(`${s.name}: ${st.reason}`);
      }
    }
  }
  return scenarios.map((s, k) => {
    const { figures, notes, series, reason } = state[k]!;
    const base = { name: s.name, kind: s.kind, measures: s.measures, runs: figures, summary: summarize(figures) };
    if (figures.length === 0) return { ...base, status: 'unavailable' as const, reason: reason ?? 'no runs' };
    return {
      ...base,
      status: 'ok' as const,
      ...(reason ? { reason: `only ${figures.length}/${runs} runs: ${reason}` } : {}),
      ...(series ? { series } : {}),
      ...(notes.length ? { notes } : {}),
    };
  });
}

async function main(): Promise<void> {
  const opts = parse();
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const plan = pinGenerator();
  const mix = await loadBodyMix(opts.quick ? 200 : 2000);
  const profileDir = join(benchDir, 'results', 'profiles');
  if (opts.cpuProf) await mkdir(profileDir, { recursive: true });
  const ctx: BenchContext = {
    quick: opts.quick,
    bodies: mix.bodies,
    serverCores: plan.serverCores,
    cpuProf: opts.cpuProf,
    profileDir,
    throughputSec: opts.durationSec,
    latencySec: opts.durationSec,
    connections: opts.quick ? 16 : 64,
    sweepConnections: opts.quick ? [] : [16, 256],
    backlogEvents: opts.backlogEvents,
    log: (msg) => process.stderr.write(`[bench] ${msg}\n`),
  };
  ctx.log(`pinning: ${plan.note}; bodies from ${mix.source}`);
  const results: ScenarioResult[] = await runInterleaved(opts.scenarios, ctx, opts.runs);
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    quick: opts.quick,
    runsPerScenario: opts.runs,
    machine,
    loadAvgEnd: loadavg(),
    pinning: plan.note,
    bodies: { count: mix.bodies.length, source: mix.source },
    scenarios: results,
    targets: evaluateTargets(results, opts.quick, opts.backlogEvents),
  };
  await mkdir(opts.out, { recursive: true });
  const md = toMarkdown(report);
  const stamp = startedAt.replace(/[:.]/g, '-');
  await writeFile(join(opts.out, `${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(opts.out, 'latest.md'), md);
  await writeFile(join(opts.out, 'latest.svg'), renderChart(report));
  process.stdout.write(`${md}\nwrote ${join(opts.out, `${stamp}.json`)}, latest.md, latest.svg\n`);
}

try {
  await main();
  // autocannon and undici may leave idle sockets; the bench is done, so do not wait for them.
  process.exit(0);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
