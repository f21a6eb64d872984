// The sink types the daemon knows: the built-ins in one explicit list, then whatever `plugins.dir` adds.
import type { Problem } from '../schema-kit/yaml-source.ts';
import type { Logger } from '../log.ts';
import type { SinkDefinition } from './define.ts';
import { fileSink } from './file.ts';
import { httpSink } from './http.ts';
import { loadPlugins } from './plugins.ts';
import { slackSink } from './slack.ts';
import { stdoutSink } from './stdout.ts';

/** Looks up sink definitions by `type`. */
export interface SinkRegistry {
  get(type: string): SinkDefinition | undefined;
  /** Every known type, sorted. */
  types(): string[];
  /** `'built-in'`, or the plugin file that declared the type; `''` for an unknown type. */
  origin(type: string): string;
}

/** The built-in sinks, written against the same `defineSink` contract as plugins. Importing them registers nothing. */
export const BUILT_IN_SINKS: readonly SinkDefinition[] = [httpSink, slackSink, fileSink, stdoutSink];

/**
 * A registry over the given definitions (first one wins on a duplicate type; `loadSinkTypes` reports those).
 * @example
 * const registry = createSinkRegistry(BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' })));
 * registry.get('http')?.create(options, ctx);
 */
export function createSinkRegistry(entries: readonly { definition: SinkDefinition; origin: string }[]): SinkRegistry {
  const byType = new Map<string, { definition: SinkDefinition; origin: string }>();
  for (const e of entries) if (!byType.has(e.definition.type)) byType.set(e.definition.type, e);
  return {
    get: (type) => byType.get(type)?.definition,
    types: () => [...byType.keys()].sort(),
    origin: (type) => byType.get(type)?.origin ?? '',
  };
}

/**
 * The built-ins plus every plugin in `pluginsDir` (called at start and on each reload).
 * A broken plugin becomes a problem naming its file; the rest still load.
 * @example
 * const { registry, problems } = await loadSinkTypes({ pluginsDir: config.plugins.dir, logger });
 * for (const p of problems) logger.error({ problem: formatProblem(p) }, 'plugin not loaded');
 */
export async function loadSinkTypes(opts: {
  pluginsDir: string;
  logger: Logger;
}): Promise<{ registry: SinkRegistry; problems: Problem[] }> {
  const builtIns = BUILT_IN_SINKS.map((definition) => ({ definition, origin: 'built-in' }));
  const reserved = new Map(builtIns.map((e) => [e.definition.type, e.origin]));
  const { sinks, problems } = await loadPlugins({ dir: opts.pluginsDir, reserved, logger: opts.logger });
  const registry = createSinkRegistry([
    ...builtIns,
    ...sinks.map((s) => ({ definition: s.definition, origin: s.file })),
  ]);
  return { registry, problems };
}

/**
 * True when `next` knows exactly the types of `current`, with the same definition objects (unchanged plugin files
 * come back from the module cache). A reload keeps `current` then, so compiled pipelines stay valid and are reused.
 * @example registry = sameSinkTypes(registry, loaded.registry) ? registry : loaded.registry;
 */
export function sameSinkTypes(current: SinkRegistry, next: SinkRegistry): boolean {
  const types = current.types();
  const nextTypes = next.types();
  return (
    types.length === nextTypes.length &&
    types.every((t, i) => t === nextTypes[i] && current.get(t) === next.get(t) && current.origin(t) === next.origin(t))
  );
}
