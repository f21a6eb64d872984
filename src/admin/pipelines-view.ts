// The JSON of GET /pipelines: each loaded pipeline with its sinks' live counters and backlog, plus the load errors.
import type { PipelineInfo, RoutingTable } from '../pipelines/table.ts';

export interface PipelinesViewSources {
  table: RoutingTable;
  loadErrors: string[];
  /** Broken files running their last good version. */
  lastGood: string[];
  /** A running lane's counters (delivered, retried, breaker, last error...), if the lane runs. */
  laneStats: (key: string) => object | undefined;
  /** What storage owes each lane and what the lane holds in memory. */
  backlog: () => Record<string, { owed: number; inMemory: number }>;
  /** A deduped pipeline's counters: events not delivered again, keys held, keys forgotten early. */
  dedupeStats?: (pipeline: string) => object;
}

export interface PipelinesView {
  version: number;
  loadErrors: string[];
  lastGood: string[];
  pipelines: (PipelineInfo & { sinks: ({ key: string } & object)[] })[];
}

/**
 * @example
 * pipelinesView({ table, loadErrors: [], lastGood: [], laneStats: (k) => lanes.get(k)?.stats(), backlog: () => engine.stats().lanes });
 */
export function pipelinesView(src: PipelinesViewSources): PipelinesView {
  const backlog = src.backlog();
  return {
    version: src.table.version,
    loadErrors: src.loadErrors,
    lastGood: src.lastGood,
    pipelines: src.table.pipelines.map((p) => ({
      ...p,
      ...(p.dedupe ? { dedupe: { ...p.dedupe, ...src.dedupeStats?.(p.name) } } : {}),
      sinks: p.lanes.map((key) => ({ key, ...(src.laneStats(key) ?? {}), ...(backlog[key] ?? {}) })),
    })),
  };
}
