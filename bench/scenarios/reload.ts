// Scenario `reload`: 1,000 pipelines reloaded (admin POST /reload, and by touching the files) while constant-rate load runs.
import { readdir, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'undici';
import { startDaemon, type Daemon } from '../harness/daemon.ts';
import { openLoop } from '../harness/load.ts';
import { mixedPipelines } from '../harness/pipeline-files.ts';
import { spread } from '../harness/stats.ts';
import { Unavailable, type Scenario } from './types.ts';

/** The issue 12 target size; quick mode (CI smoke) loads 100 so it stays well under a minute. */
const PIPELINES = 1000;
const QUICK_PIPELINES = 100;
/** A reload log line's duration field, whatever the daemon names it. */
const DURATION_FIELD = /"(?:durationMs|reloadMs|tookMs|elapsedMs|ms|duration)":\s*([\d.]+)/;

/** POST /reload and time the round trip; undefined if the endpoint does not answer 2xx. */
async function adminReload(daemon: Daemon, notes: string[]): Promise<number | undefined> {
  const t0 = performance.now();
  try {
    const res = await request(`${daemon.adminUrl}/reload`, {
      method: 'POST',
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return performance.now() - t0;
    notes.push(`admin POST /reload answered ${res.statusCode}`);
  } catch (err) {
    notes.push(`admin POST /reload failed: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return undefined;
}

export const reload: Scenario = {
  name: 'reload',
  kind: 'scenario',
  measures: `${PIPELINES} pipelines reloaded under constant-rate load; target reload < 100 ms and 0 failed requests`,
  async run(ctx) {
    const count = ctx.quick ? QUICK_PIPELINES : PIPELINES;
    const daemon = await startDaemon(ctx, { pipelines: (out) => mixedPipelines(count, out), watch: true });
    const logged: number[] = [];
    daemon.server.onLine((line) => {
      if (!/reload/i.test(line)) return;
      const m = DURATION_FIELD.exec(line);
      if (m) logged.push(Number(m[1]));
    });
    try {
      const durationSec = ctx.quick ? 2 : Math.max(10, ctx.latencySec);
      const rate = ctx.quick ? 200 : 2000;
      const admin: number[] = [];
      const notes: string[] = [];
      const actions = (async () => {
        const step = (durationSec * 1000) / 4;
        await new Promise((r) => setTimeout(r, step));
        for (let i = 0; i < 3; i++) {
          const ms = await adminReload(daemon, notes);
          if (ms !== undefined) admin.push(ms);
        }
        await new Promise((r) => setTimeout(r, step));
        // Touching every file is what an editor save or a deploy of the whole folder looks like to the watcher.
        const now = new Date();
        for (const f of await readdir(daemon.pipelinesDir)) await utimes(join(daemon.pipelinesDir, f), now, now);
      })();
      const load = await openLoop({ url: daemon.url, bodies: ctx.bodies, rate, durationSec });
      await actions;
      await new Promise((r) => setTimeout(r, ctx.quick ? 500 : 1000)); // let a watcher-triggered reload finish and log
      if (admin.length === 0 && logged.length === 0) {
        throw new Unavailable(`no reload could be measured (${notes[0] ?? 'no reload log line with a duration'})`);
      }
      const adminSpread = spread(admin);
      const logSpread = spread(logged);
      const reasons = [...new Set(load.failures)].slice(0, 5);
      return {
        notes: [...notes, ...(reasons.length ? [`failed requests: ${reasons.join(', ')}`] : [])],
        figures: {
          pipelines: count,
          reloadAdminMs: adminSpread.median,
          reloadAdminMaxMs: adminSpread.max,
          reloadLoggedMs: logSpread.median,
          reloadLoggedMaxMs: logSpread.max,
          reloadsLogged: logged.length,
          rateRps: rate,
          ok: load.ok,
          failed: load.failed,
          p99Ms: load.p99Ms,
          sendLagP99Ms: load.sendLagP99Ms,
          genCpuPct: load.genCpuPct,
        },
      };
    } finally {
      await daemon.stop();
    }
  },
};
