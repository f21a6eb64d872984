// Target evaluation, markdown and SVG rendering of a bench report, including unavailable scenarios.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderChart } from '../../bench/harness/chart-svg.ts';
import {
  evaluateTargets,
  summarize,
  toMarkdown,
  type BenchReport,
  type ScenarioResult,
} from '../../bench/harness/report.ts';

function ok(name: string, kind: 'baseline' | 'scenario', runs: Record<string, number>[]): ScenarioResult {
  return { name, kind, measures: `${name} test`, status: 'ok', runs, summary: summarize(runs) };
}

const results: ScenarioResult[] = [
  ok('ceiling', 'baseline', [
    { rps: 1000, p99AtHalfMs: 1 },
    { rps: 1200, p99AtHalfMs: 2 },
    { rps: 1100, p99AtHalfMs: 1 },
  ]),
  ok('durable-ceiling', 'baseline', [{ rps: 900, cpuUsPerReq: 25, c256Rps: 1000, c256CpuUsPerReq: 20 }]),
  ok('naive', 'baseline', [{ rps: 300, p99AtHalfMs: 4 }]),
  ok('ingress', 'scenario', [{ rps: 800, p99AtHalfMs: 2, cpuUsPerReq: 50, c256Rps: 500, c256CpuUsPerReq: 40 }]),
  ok('route', 'scenario', [
    { rps: 500, p99AtHalfMs: 3 },
    { rps: 560, p99AtHalfMs: 6 },
  ]),
  {
    name: 'backlog',
    kind: 'scenario',
    measures: 'b',
    status: 'unavailable',
    reason: 'daemon not built yet (x | y)',
    runs: [],
    summary: {},
  },
  ok('reload', 'scenario', [{ reloadAdminMaxMs: 90, failed: 0 }]),
];

test('targets: ratios from medians, worst run for latency, null when a side is unavailable', () => {
  const t = Object.fromEntries(evaluateTargets(results, false, 1_000_000).map((x) => [x.target, x]));
  assert.equal(t['ingress ≥ 0.85 × durable-ceiling at 64 conns']!.met, true); // 800 / 900
  assert.match(t['ingress ≥ 0.85 × durable-ceiling at 64 conns']!.value, /0\.889× by req\/s, 0\.5× by CPU/); // 25 / 50
  assert.equal(t['ingress ≥ 0.85 × durable-ceiling at 256 conns']!.met, false); // 500 / 1000
  assert.equal(t['route ≥ 1.0 × naive']!.met, true); // median 530 / 300
  assert.equal(t['route p99 ≤ 5 ms at half peak']!.met, false); // worst run 6 ms
  assert.equal(t['ingress p99 ≤ 5 ms at half peak']!.met, true);
  assert.equal(t['backlog RSS ≤ 150 MB during a 1M-event outage']!.met, null);
  assert.equal(t['1,000 pipelines reload < 100 ms']!.met, true); // no logged figure: falls back to the admin round trip
  assert.equal(t['0 failed requests during reload']!.met, true);
});

test('markdown lists every figure with min/median/max and keeps table cells intact', () => {
  const report: BenchReport = {
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    command: 'tsx bench/run.ts',
    quick: false,
    runsPerScenario: 3,
    machine: {
      cpuModel: 'Test CPU',
      cores: 2,
      memGb: 4,
      kernel: 'linux',
      node: 'v20',
      commit: 'abc123',
      dirty: false,
      loadAvg: [0.5, 0.4, 0.3],
    },
    loadAvgEnd: [1, 1, 1],
    pinning: 'none',
    bodies: { count: 10, source: 'test' },
    scenarios: results,
    targets: evaluateTargets(results, false, 1_000_000),
  };
  const md = toMarkdown(report);
  assert.match(md, /\| ceiling \| rps \| 1,000 \| 1,100 \| 1,200 \|/);
  assert.match(md, /\| backlog \| unavailable: daemon not built yet \(x \/ y\) \| \| \| \|/);
  assert.match(md, /Test CPU, 2 cores/);
  const svg = renderChart(report);
  assert.match(svg, /^<svg /);
  assert.match(svg, />ceiling</);
  assert.ok(!svg.includes('NaN'), 'no NaN coordinates in the chart');
});
