// What the offline commands (validate, test, dlq replay) load: the sink types and the pipelines as they are on disk.
import type { Config } from '../config/schema.ts';
import type { Logger } from '../log.ts';
import { loadPipelines } from '../pipelines/load.ts';
import type { RoutingTable } from '../pipelines/table.ts';
import type { Problem } from '../schema-kit/yaml-source.ts';
import { loadSinkTypes, type SinkRegistry } from '../sinks/registry.ts';

/**
 * Plugins then pipelines for `config`, with every problem of both (plugin problems first). Nothing is kept from a
 * previous run: a broken file is reported, never replaced by an older version.
 * @example
 * const { table, problems } = await loadOffline(config, silentLogger);
 */
export async function loadOffline(
  config: Config,
  logger: Logger,
): Promise<{ registry: SinkRegistry; table: RoutingTable; problems: Problem[] }> {
  const plugins = await loadSinkTypes({ pluginsDir: config.plugins.dir, logger });
  const { table, problems } = await loadPipelines({
    dir: config.pipelines.dir,
    sinkTypes: plugins.registry,
    evalTimeoutMs: config.pipelines.evalTimeoutMs,
    baseDir: config.baseDir,
  });
  return { registry: plugins.registry, table, problems: [...plugins.problems, ...problems] };
}
