// The routing table a pipeline load produces: which lanes want an event, and the payload each lane delivers.
import type { EventRecord } from '../events/record.ts';
import { EventMatcher } from './match.ts';
import type { LaneSpec, PipelineInfo, RouteDecision, RoutingTable } from './table.ts';
import { truthy, type CompiledExpression } from './transform.ts';

/** One sink of a compiled pipeline. */
export interface CompiledLane {
  spec: LaneSpec;
  /** The sink's own `transform`, if it has one. */
  transform?: CompiledExpression;
}

/** One pipeline after loading: its facts, its compiled expressions and its lanes. */
export interface CompiledPipeline {
  info: PipelineInfo;
  when?: CompiledExpression;
  transform?: CompiledExpression;
  lanes: CompiledLane[];
}

/** What `route` should consider; `hookroute test` includes disabled pipelines so they can be tested before they are switched on. */
export interface RouteOptions {
  includeDisabled?: boolean;
}

/**
 * An immutable `RoutingTable` over compiled pipelines. `lanes` holds the lanes of enabled pipelines only
 * (a disabled pipeline gets no events, so the delivery stage needs no sink for it).
 * @example
 * const decision = await table.route(event);            // { lanes: ['bounces/file'], failures: [], unmatched: false }
 * const body = await table.payload('bounces/file', event);
 */
export class Router implements RoutingTable {
  readonly pipelines: readonly PipelineInfo[];
  readonly lanes: ReadonlyMap<string, LaneSpec>;
  private readonly compiled: readonly CompiledPipeline[];
  private readonly allLanes = new Map<string, { lane: CompiledLane; pipeline: CompiledPipeline }>();
  private readonly matcher: EventMatcher<CompiledPipeline>;

  constructor(
    readonly version: number,
    pipelines: readonly CompiledPipeline[],
  ) {
    this.compiled = pipelines;
    this.pipelines = Object.freeze(pipelines.map((p) => p.info));
    const lanes = new Map<string, LaneSpec>();
    for (const pipeline of pipelines) {
      for (const lane of pipeline.lanes) {
        this.allLanes.set(lane.spec.key, { lane, pipeline });
        if (pipeline.info.enabled) lanes.set(lane.spec.key, lane.spec);
      }
    }
    this.lanes = lanes;
    this.matcher = new EventMatcher(pipelines.map((p) => ({ value: p, ...(p.info.events ? { events: p.info.events } : {}) })));
  }

  /** Compiled pipelines loaded from `file` (absolute), for a reload that keeps a broken file's previous version. */
  pipelinesFrom(file: string): CompiledPipeline[] {
    return this.compiled.filter((p) => p.info.file === file);
  }

  async route(event: EventRecord, opts: RouteOptions = {}): Promise<RouteDecision> {
    const candidates = this.matcher.candidates(event.eventName).filter((p) => p.info.enabled || opts.includeDisabled);
    const regular = candidates.filter((p) => !p.info.catchAll);
    const failures: RouteDecision['failures'] = [];
    let matched = await this.matching(regular, event, failures);
    if (matched.length === 0 && failures.length === 0) {
      matched = await this.matching(candidates.filter((p) => p.info.catchAll), event, failures);
    }
    const lanes = matched.flatMap((p) => p.lanes.map((l) => l.spec.key));
    return { lanes, failures, unmatched: matched.length === 0 && failures.length === 0 };
  }

  async payload(laneKey: string, event: EventRecord): Promise<unknown> {
    const entry = this.allLanes.get(laneKey);
    if (!entry) throw new Error(`no lane "${laneKey}" in pipelines version ${this.version}`);
    const expr = entry.lane.transform ?? entry.pipeline.transform;
    if (!expr) return event.body;
    const result = await expr.evaluate(event.body);
    if (result === undefined) throw new Error('transform produced no value');
    return result;
  }

  /** The pipelines among `candidates` whose `when` holds; a failing `when` is recorded and counts as no match. */
  private async matching(candidates: readonly CompiledPipeline[], event: EventRecord, failures: RouteDecision['failures']): Promise<CompiledPipeline[]> {
    if (!candidates.some((p) => p.when)) return candidates as CompiledPipeline[];
    const verdicts = await Promise.all(
      candidates.map(async (p) => {
        if (!p.when) return true;
        try {
          return truthy(await p.when.evaluate(event.body));
        } catch (err) {
          failures.push({ pipeline: p.info.name, error: `match.when: ${(err as Error).message}` });
          return false;
        }
      }),
    );
    return candidates.filter((_, i) => verdicts[i]);
  }
}
