// The compiled, immutable routing table that a pipeline load produces and the delivery stage reads.
import type { DeliveryPolicy } from '../delivery/policy.ts';
import type { EventRecord } from '../events/record.ts';
import type { DedupeInfo, DedupeRule } from './dedupe.ts';

/** Everything the delivery stage needs to run one sink of one pipeline (a "lane"). */
export interface LaneSpec {
  /** `<pipeline>/<sinkId>`: stable across reloads while the pipeline and sink names stay. */
  key: string;
  pipeline: string;
  sinkId: string;
  type: string;
  /** The sink's own options (common keys removed), `${VAR}` already interpolated, checked against the sink schema. */
  options: Record<string, unknown>;
  retry: DeliveryPolicy['retry'];
  queue: DeliveryPolicy['queue'];
  breaker: DeliveryPolicy['breaker'];
  /** Absent: one event per send. */
  batch?: DeliveryPolicy['batch'];
  /** Changes whenever anything above changes: a reload recreates the sink only when this differs. */
  fingerprint: string;
  /** Pipeline file (absolute) and line of the sink entry, for errors. */
  source: { file: string; line: number };
}

/** Result of routing one event. */
export interface RouteDecision {
  /** Lane keys that owe a delivery of this event. */
  lanes: string[];
  /** Pipelines whose `when` (or dedupe key) failed for this event (each goes to the dead-letter queue with its error). */
  failures: { pipeline: string; error: string; stage?: 'match' | 'dedupe' }[];
  /** True when no pipeline (catch-all included) matched. */
  unmatched: boolean;
}

export interface PipelineInfo {
  name: string;
  file: string;
  description?: string;
  enabled: boolean;
  catchAll: boolean;
  events?: string[];
  lanes: string[];
  /** The pipeline's dedupe rule, when `dedupe` is on. */
  dedupe?: DedupeInfo;
}

/** One compiled version of all pipelines. Never mutated: a reload builds a new one and swaps it in. */
export interface RoutingTable {
  readonly version: number;
  readonly pipelines: readonly PipelineInfo[];
  readonly lanes: ReadonlyMap<string, LaneSpec>;
  /** Which lanes want this event. Never throws: predicate errors come back in `failures`. */
  route(event: EventRecord): Promise<RouteDecision>;
  /** The payload for one lane (sink transform, else pipeline transform, else the event body). Throws on transform error or timeout. */
  payload(laneKey: string, event: EventRecord): Promise<unknown>;
  /** The dedupe rule of a pipeline that has `dedupe` on (a table without the method dedupes nothing). */
  dedupe?(pipeline: string): DedupeRule | undefined;
}
