// `hookroute validate`: config, plugins, every pipeline and every JSONata expression, as `file:line:col: message` lines.
import { ConfigError, loadConfig } from '../config/load.ts';
import { formatProblem, type Problem } from '../schema-kit/yaml-source.ts';
import { silentLogger } from '../log.ts';
import { loadOffline } from './load-offline.ts';

/**
 * Check everything `start` would load, without starting anything. Exit code 0 (and a one-line summary) or 1 (problems listed on `out`).
 * @example
 * process.exitCode = await runValidate({ config: 'config.yaml' }, process.stdout, process.stderr);
 * // ok: 4 pipelines, 4 sinks, 0 plugins
 */
export async function runValidate(
  opts: { config?: string },
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
): Promise<number> {
  try {
    const config = await loadConfig(opts.config !== undefined ? { file: opts.config } : {});
    const { registry, table, problems } = await loadOffline(config, silentLogger);
    if (problems.length) return report(problems, out);
    const sinks = table.pipelines.reduce((n, p) => n + p.lanes.length, 0);
    const plugins = new Set(
      registry
        .types()
        .map((t) => registry.origin(t))
        .filter((o) => o !== 'built-in'),
    ).size;
    out.write(`ok: ${table.pipelines.length} pipelines, ${sinks} sinks, ${plugins} plugins\n`);
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) return report(e.problems, out);
    err.write(`hookroute validate: ${(e as Error).message}\n`);
    return 1;
  }
}

function report(problems: Problem[], out: NodeJS.WritableStream): number {
  for (const p of problems) out.write(`${formatProblem(p)}\n`);
  out.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} found\n`);
  return 1;
}
