// The bench report: per-scenario figures over repeated runs, the targets from issue 12, and the markdown table.
import type { Figures, Series } from '../scenarios/types.ts';
import type { MachineInfo } from './machine.ts';
import { spread, type Spread } from './stats.ts';

export interface ScenarioResult {
  name: string;
  kind: 'baseline' | 'scenario';
  measures: string;
  status: 'ok' | 'unavailable';
  /** Why there are no figures (`unavailable`), or why fewer runs than asked completed. */
  reason?: string;
  runs: Figures[];
  summary: Record<string, Spread>;
  /** Time series from the last run (e.g. backlog RSS). */
  series?: Record<string, Series>;
  /** Notes from every run (failure reasons and the like). */
  notes?: string[];
}

export interface TargetResult {
  target: string;
  value: string;
  /** null when a side of the comparison is unavailable. */
  met: boolean | null;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  command: string;
  quick: boolean;
  runsPerScenario: number;
  machine: MachineInfo;
  /** 1/5/15-minute load average when the run ended (other work on the machine shows up here). */
  loadAvgEnd: number[];
  pinning: string;
  bodies: { count: number; source: string };
  scenarios: ScenarioResult[];
  targets: TargetResult[];
}

/** min/median/max of every figure across runs. */
export function summarize(runs: Figures[]): Record<string, Spread> {
  const names = [...new Set(runs.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(names.map((n) => [n, spread(runs.map((r) => r[n] ?? NaN))]));
}

/** Human-sized number: 3 significant digits, thousands kept whole. */
export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(3)).toString();
}

/**
 * Evaluate the issue 12 targets from medians (ratios) and worst runs (memory, reload, errors).
 * @example evaluateTargets(results, false)[0] // { target: 'ingress ≥ 0.85 × durable-ceiling at 64 conns', value: '0.9× by req/s, ...', met: true }
 */
export function evaluateTargets(results: ScenarioResult[], quick: boolean, backlogEvents: number): TargetResult[] {
  const get = (name: string, fig: string, at: keyof Spread = 'median') => {
    const r = results.find((s) => s.name === name && s.status === 'ok');
    return r?.summary[fig]?.[at];
  };
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? a / b : undefined;
  const out: TargetResult[] = [];
  /** A throughput ratio by req/s and by CPU µs per request (lower CPU is better, so that ratio is inverted). */
  const both = (target: string, a: string, b: string, rpsFig: string, cpuFig: string, min: number) => {
    const byRps = ratio(get(a, rpsFig), get(b, rpsFig));
    const byCpu = ratio(get(b, cpuFig), get(a, cpuFig));
    out.push({
      target,
      value:
        byRps === undefined
          ? 'unavailable'
          : `${fmt(byRps)}× by req/s, ${byCpu === undefined ? '–' : fmt(byCpu)}× by CPU µs/request`,
      met: byRps === undefined ? null : byRps >= min,
    });
  };
  both('ingress ≥ 0.85 × durable-ceiling at 64 conns', 'ingress', 'durable-ceiling', 'rps', 'cpuUsPerReq', 0.85);
  both(
    'ingress ≥ 0.85 × durable-ceiling at 256 conns',
    'ingress',
    'durable-ceiling',
    'c256Rps',
    'c256CpuUsPerReq',
    0.85,
  );
  both('route ≥ 1.0 × naive', 'route', 'naive', 'rps', 'cpuUsPerReq', 1);
  for (const name of ['ingress', 'route']) {
    const p99 = get(name, 'p99AtHalfMs', 'max');
    out.push({
      target: `${name} p99 ≤ 5 ms at half peak`,
      value: p99 === undefined ? 'unavailable' : `${fmt(p99)} ms (worst run)`,
      met: p99 === undefined ? null : p99 <= 5,
    });
  }
  const rss = get('backlog', 'rssPeakMb', 'max');
  const undelivered = get('backlog', 'undelivered', 'max');
  const scale = quick || backlogEvents < 1_000_000 ? ` (${fmt(backlogEvents)} events, not 1M)` : '';
  out.push({
    target: 'backlog RSS ≤ 150 MB during a 1M-event outage',
    value: rss === undefined ? 'unavailable' : `${fmt(rss)} MB peak${scale}`,
    met: rss === undefined ? null : rss <= 150,
  });
  out.push({
    target: 'backlog: everything delivered afterwards',
    value: undelivered === undefined ? 'unavailable' : `${fmt(undelivered)} undelivered`,
    met: undelivered === undefined ? null : undelivered === 0,
  });
  const reloadMs = get('reload', 'reloadLoggedMaxMs', 'max') ?? get('reload', 'reloadAdminMaxMs', 'max');
  out.push({
    target: '1,000 pipelines reload < 100 ms',
    value: reloadMs === undefined ? 'unavailable' : `${fmt(reloadMs)} ms (worst)`,
    met: reloadMs === undefined ? null : reloadMs < 100,
  });
  const reloadFailed = get('reload', 'failed', 'max');
  out.push({
    target: '0 failed requests during reload',
    value: reloadFailed === undefined ? 'unavailable' : `${fmt(reloadFailed)} failed`,
    met: reloadFailed === undefined ? null : reloadFailed === 0,
  });
  return out;
}

/** The report as markdown: machine, targets, then every figure with min/median/max. */
export function toMarkdown(r: BenchReport): string {
  const m = r.machine;
  const lines = [
    `# hookroute bench — ${r.startedAt}${r.quick ? ' (quick mode: tiny counts, figures are smoke only)' : ''}`,
    '',
    `- machine: ${m.cpuModel}, ${m.cores} cores, ${m.memGb} GB RAM, ${m.kernel}; load average ${m.loadAvg.map(fmt).join(' / ')} at the start, ${r.loadAvgEnd.map(fmt).join(' / ')} at the end`,
    `- Node ${m.node}, commit ${m.commit}${m.dirty ? ' (+ uncommitted changes)' : ''}`,
    `- ${r.runsPerScenario} run(s) per scenario; pinning: ${r.pinning}`,
    `- bodies: ${r.bodies.count} realistic events from ${r.bodies.source}`,
    `- command: \`${r.command}\``,
    '',
    '## Targets',
    '',
    '| target | value | met |',
    '|---|---|---|',
    ...r.targets.map((t) => `| ${t.target} | ${t.value} | ${t.met === null ? 'n/a' : t.met ? 'yes' : 'no'} |`),
    '',
    '## Figures (min / median / max over runs)',
    '',
    '| scenario | figure | min | median | max |',
    '|---|---|---|---|---|',
  ];
  for (const s of r.scenarios) {
    if (s.status === 'unavailable') {
      lines.push(`| ${s.name} | unavailable: ${s.reason?.replaceAll('|', '/') ?? ''} | | | |`);
      continue;
    }
    for (const [fig, v] of Object.entries(s.summary))
      lines.push(`| ${s.name} | ${fig} | ${fmt(v.min)} | ${fmt(v.median)} | ${fmt(v.max)} |`);
    if (s.reason) lines.push(`| ${s.name} | note: ${s.reason.replaceAll('|', '/')} | | | |`);
    for (const n of s.notes ?? []) lines.push(`| ${s.name} | note: ${n.replaceAll('|', '/')} | | | |`);
  }
  lines.push(
    '',
    '## What each scenario measures',
    '',
    ...r.scenarios.map((s) => `- \`${s.name}\` (${s.kind}): ${s.measures}`),
    '',
  );
  return lines.join('\n');
}
