// The two baselines as scenarios: each server runs as a pinned child process and gets the standard measurement.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from '../harness/children.ts';
import { measureIngress } from '../harness/measure.ts';
import { benchDir } from '../harness/paths.ts';
import type { BenchContext, RunOutput, Scenario } from './types.ts';

async function runBaseline(ctx: BenchContext, script: string, sweep = false): Promise<RunOutput> {
  const outDir = await mkdtemp(join(tmpdir(), 'hookroute-bench-baseline-'));
  const server = spawnServer(['--import', 'tsx', join(benchDir, 'baselines', script)], {
    cores: ctx.serverCores,
    env: { ...process.env, PORT: '0', OUT_DIR: outDir },
  });
  try {
    const port = await server.waitForPort(20_000);
    return await measureIngress(ctx, `http://127.0.0.1:${port}/webhook`, server.pid, { sweep });
  } finally {
    await server.stop();
    await rm(outDir, { recursive: true, force: true });
  }
}

export const ceiling: Scenario = {
  name: 'ceiling',
  kind: 'baseline',
  measures: 'bare uWebSockets.js: read body, JSON.parse, 200 (the most this machine can do)',
  run: (ctx) => runBaseline(ctx, 'ceiling.ts'),
};

export const durableCeiling: Scenario = {
  name: 'durable-ceiling',
  kind: 'baseline',
  measures: 'bare uWebSockets.js + JSON.parse + group commit (one writev + one fdatasync per batch) before each 200',
  run: (ctx) => runBaseline(ctx, 'durable-ceiling.ts', true),
};

export const naive: Scenario = {
  name: 'naive',
  kind: 'baseline',
  measures: 'Fastify + the route JSONata transform + one appending write stream (no fsync, no validation)',
  run: (ctx) => runBaseline(ctx, 'naive.ts'),
};
