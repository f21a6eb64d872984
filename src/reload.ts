// Reloads: plugins and pipelines read again, changed lanes swapped in; one at a time, requests during one coalesced.
import type { Config } from './config/schema.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './admin/metrics.ts';
import type { CompileCache } from './pipelines/compile-cache.ts';
import type { LastGoodVersions } from './pipelines/last-good.ts';
import { loadPipelines, type LoadResult } from './pipelines/load.ts';
import type { RoutingTable } from './pipelines/table.ts';
import { loadSinkTypes, sameSinkTypes, type SinkRegistry } from './sinks/registry.ts';
import type { SinkPool } from './sinks/pool.ts';
import { formatProblem } from './schema-kit/yaml-source.ts';

export interface ReloadResult {
  ok: boolean;
  errors: string[];
}

/** The running state a reload reads and replaces. */
export interface Loaded {
  table: RoutingTable;
  registry: SinkRegistry;
  /** Problems of the last load, as `file:line:col: message` (shown in /pipelines). */
  loadErrors: string[];
  /** Broken files that run their last good version. */
  lastGood: string[];
}

export interface ReloaderDeps {
  config: Config;
  state: Loaded;
  cache: CompileCache;
  lastGood: LastGoodVersions;
  sinks: SinkPool;
  /** The new table is in `state.table`: apply it to the running lanes. */
  applied: () => void;
  metrics: Metrics;
  logger: Logger;
}

/**
 * A reload compiles only the pipeline files whose content changed; the others keep their compiled pipeline, lanes and
 * sinks, and a broken file keeps its previous version.
 * @example
 * const reload = createReloader({ config, state, cache, sinks, applied: () => engine.tableChanged(), metrics, logger });
 * await reload('SIGHUP'); // { ok: true, errors: [] }
 */
export function createReloader(deps: ReloaderDeps): (reason: string) => Promise<ReloadResult> {
  const { config, state, metrics, logger } = deps;
  let running: Promise<ReloadResult> | undefined;
  let again = false;

  const once = async (reason: string): Promise<ReloadResult> => {
    const started = performance.now();
    const t = [started];
    const loaded = await loadSinkTypes({ pluginsDir: config.plugins.dir, logger });
    // Unchanged plugins: keep the registry object, which keeps every compiled pipeline in the cache valid.
    if (!sameSinkTypes(state.registry, loaded.registry)) state.registry = loaded.registry;
    t.push(performance.now());
    const result = await loadPipelines({
      dir: config.pipelines.dir,
      sinkTypes: state.registry,
      evalTimeoutMs: config.pipelines.evalTimeoutMs,
      baseDir: config.baseDir,
      previous: state.table,
      version: state.table.version + 1,
      cache: deps.cache,
      lastGood: deps.lastGood,
    });
    t.push(performance.now());
    await deps.sinks.prepare(result.table, state.registry);
    t.push(performance.now());
    state.table = result.table;
    deps.applied();
    deps.sinks.retireUnused(state.table);
    t.push(performance.now());
    const round = (x: number) => Math.round(x * 10) / 10;
    const stagesMs = {
      plugins: round(t[1]! - t[0]!),
      pipelines: round(t[2]! - t[1]!),
      sinks: round(t[3]! - t[2]!),
      swap: round(t[4]! - t[3]!),
    };
    const recompiled = result.compiled.length;
    const errors = [...loaded.problems, ...result.problems].map(formatProblem);
    state.loadErrors = errors;
    state.lastGood = lastGoodFiles(result);
    metrics.pipelinesLastGood.set(state.lastGood.length);
    metrics.reloads.inc({ result: errors.length ? 'error' : 'ok' });
    metrics.pipelinesLoaded.set(state.table.pipelines.length);
    const ms = round(performance.now() - started);
    const version = state.table.version;
    if (errors.length)
      logger.error(
        { reason, ms, stagesMs, recompiled, version, errors },
        'pipelines reloaded with errors (broken files keep their previous version)',
      );
    else
      logger.info(
        { reason, ms, stagesMs, recompiled, version, pipelines: state.table.pipelines.length },
        'pipelines reloaded',
      );
    return { ok: errors.length === 0, errors };
  };

  return (reason) => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        let r = await once(reason);
        while (again) {
          again = false;
          r = await once('coalesced');
        }
        return r;
      } catch (err) {
        metrics.reloads.inc({ result: 'error' });
        logger.error({ err }, 'reload failed; previous pipelines keep running');
        return { ok: false, errors: [(err as Error).message] };
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
}

/** The files of a load that run their last good version. */
export function lastGoodFiles(result: LoadResult): string[] {
  return result.files.filter((f) => f.lastGood).map((f) => f.file);
}
