// A hand-written SVG bar chart: throughput and p99 latency (at half peak) per scenario, baselines alongside.
import { fmt, type BenchReport, type ScenarioResult } from './report.ts';

const W = 860;
const PANEL_H = 260;
const LEFT = 150;
const BAR_H = 18;
const GAP = 8;

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

interface Line {
  at: number;
  label: string;
}

function panel(title: string, unit: string, y0: number, rows: ScenarioResult[], fig: string, lines: Line[]): string {
  const values = rows.map((r) => (r.status === 'ok' ? r.summary[fig] : undefined));
  const maxV = Math.max(
    1e-9,
    ...values.map((v) => (v && Number.isFinite(v.max) ? v.max : 0)),
    ...lines.map((l) => l.at),
  );
  const scale = (W - LEFT - 110) / maxV; // room right of the longest bar for its label
  const out = [`<text x="10" y="${y0 + 16}" font-weight="bold">${esc(title)}</text>`];
  rows.forEach((r, i) => {
    const y = y0 + 30 + i * (BAR_H + GAP);
    out.push(`<text x="${LEFT - 8}" y="${y + 13}" text-anchor="end">${esc(r.name)}</text>`);
    const v = values[i];
    if (!v || !Number.isFinite(v.median)) {
      out.push(
        `<text x="${LEFT + 4}" y="${y + 13}" fill="#888">${r.status === 'ok' ? 'no figure' : 'unavailable'}</text>`,
      );
      return;
    }
    const colour = r.kind === 'baseline' ? '#9aa5b1' : '#2f6fb0';
    out.push(
      `<rect x="${LEFT}" y="${y}" width="${Math.max(1, v.median * scale).toFixed(1)}" height="${BAR_H}" fill="${colour}"/>`,
    );
    // The whisker spans min..max over the repeated runs.
    const yMid = y + BAR_H / 2;
    out.push(
      `<line x1="${(LEFT + v.min * scale).toFixed(1)}" x2="${(LEFT + v.max * scale).toFixed(1)}" y1="${yMid}" y2="${yMid}" stroke="#222"/>`,
    );
    out.push(
      `<text x="${(LEFT + v.max * scale + 6).toFixed(1)}" y="${y + 13}">${esc(fmt(v.median))} ${esc(unit)}</text>`,
    );
  });
  const bottom = y0 + 30 + rows.length * (BAR_H + GAP);
  for (const l of lines) {
    const x = (LEFT + l.at * scale).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${y0 + 24}" y2="${bottom}" stroke="#c0392b" stroke-dasharray="4 3"/>`);
    out.push(
      `<text x="${x}" y="${bottom + 12}" fill="#c0392b" text-anchor="middle" font-size="10">${esc(l.label)}</text>`,
    );
  }
  return out.join('\n');
}

/**
 * Render the report's chart: throughput (median bar, min–max whisker) and p99 at half peak, with target lines.
 * @example writeFileSync('latest.svg', renderChart(report));
 */
export function renderChart(r: BenchReport): string {
  const rows = r.scenarios.filter((s) => s.name !== 'backlog' && s.name !== 'reload');
  const med = (name: string, fig: string) =>
    r.scenarios.find((s) => s.name === name && s.status === 'ok')?.summary[fig]?.median;
  const tpLines: Line[] = [];
  const ceil = med('ceiling', 'rps');
  const naive = med('naive', 'rps');
  if (ceil !== undefined && Number.isFinite(ceil))
    tpLines.push({ at: 0.7 * ceil, label: 'ingress target 0.7×ceiling' });
  if (naive !== undefined && Number.isFinite(naive)) tpLines.push({ at: 2 * naive, label: 'route target 2×naive' });
  const panelH = Math.max(PANEL_H, 60 + rows.length * (BAR_H + GAP));
  const h = 40 + panelH * 2;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${h}" fill="#fff"/>`,
    `<text x="10" y="22" font-size="14">${esc(`hookroute bench ${r.startedAt} · ${r.machine.cpuModel} · ${r.machine.cores} cores · Node ${r.machine.node} · ${r.machine.commit}${r.quick ? ' · QUICK' : ''}`)}</text>`,
    panel('Peak throughput (2xx requests/s; grey = baseline)', 'req/s', 36, rows, 'rps', tpLines),
    panel('p99 latency at half the peak rate (open loop)', 'ms', 36 + panelH, rows, 'p99AtHalfMs', [
      { at: 5, label: 'route target 5 ms' },
    ]),
    '</svg>',
    '',
  ].join('\n');
}
