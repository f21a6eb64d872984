// The routing table a pipeline load produces: which lanes want an event, and the payload each lane delivers.
import type { EventRecord } from '../events/record.ts';
import type { DedupeRule } from './dedupe.ts';
import { EventMatcher } from './match.ts';
import type { LaneSpec, PipelineInfo, RouteDecision, RoutingTable } from './table.ts';
import { NEEDS_JSONATA, truthy, type CompiledExpression } from './jsonata/transform.ts';

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
  /** Present when the pipeline has `dedupe` on. */
  dedupe?: DedupeRule;
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
  private readonly byName = new Map<string, CompiledPipeline>();
  private readonly allLanes = new Map<string, { lane: CompiledLane; pipeline: CompiledPipeline }>();
  private readonly matcher: EventMatcher<CompiledPipeline>;
  /**
   * The pipeline transform's result per event, for pipelines whose sinks share it: 5 sinks, 1 evaluation. Keyed by the
   * EventRecord object the delivery stage hands every lane of the event (a record re-read from the journal is a new key).
   */
  private readonly shared = new WeakMap<EventRecord, Map<CompiledPipeline, Promise<unknown>>>();
  /** Pipelines with a transform that two or more of their sinks use (a single user gains nothing from the memo). */
  private readonly sharesTransform = new Set<CompiledPipeline>();

  constructor(
    readonly version: number,
    pipelines: readonly CompiledPipeline[],
  ) {
    this.compiled = pipelines;
    this.pipelines = Object.freeze(pipelines.map((p) => p.info));
    const lanes = new Map<string, LaneSpec>();
    for (const pipeline of pipelines) {
      this.byName.set(pipeline.info.name, pipeline);
      for (const lane of pipeline.lanes) {
        this.allLanes.set(lane.spec.key, { lane, pipeline });
        if (pipeline.info.enabled) lanes.set(lane.spec.key, lane.spec);
      }
      if (pipeline.transform && pipeline.lanes.filter((l) => !l.transform).length > 1)
        this.sharesTransform.add(pipeline);
    }
    this.lanes = lanes;
    this.matcher = new EventMatcher(
      pipelines.map((p) => ({ value: p, ...(p.info.events ? { events: p.info.events } : {}) })),
    );
  }

  dedupe(pipeline: string): DedupeRule | undefined {
    return this.byName.get(pipeline)?.dedupe;
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
      matched = await this.matching(
        candidates.filter((p) => p.info.catchAll),
        event,
        failures,
      );
    }
    const lanes = matched.flatMap((p) => p.lanes.map((l) => l.spec.key));
    return { lanes, failures, unmatched: matched.length === 0 && failures.length === 0 };
  }

  /**
   * Sinks without a transform of their own share the pipeline transform's result (one evaluation per event), so a
   * payload may be the same object for several sinks, and may share objects with the event body: sinks must not mutate it.
   */
  payload(laneKey: string, event: EventRecord): Promise<unknown> {
    const entry = this.allLanes.get(laneKey);
    if (!entry) return Promise.reject(new Error(`no lane "${laneKey}" in pipelines version ${this.version}`));
    if (entry.lane.transform) return transformed(entry.lane.transform, event);
    const { pipeline } = entry;
    if (!pipeline.transform) return Promise.resolve(event.body);
    if (!this.sharesTransform.has(pipeline)) return transformed(pipeline.transform, event);
    let perEvent = this.shared.get(event);
    if (!perEvent) this.shared.set(event, (perEvent = new Map()));
    let result = perEvent.get(pipeline);
    if (!result) perEvent.set(pipeline, (result = transformed(pipeline.transform, event)));
    return result;
  }

  /** The pipelines among `candidates` whose `when` holds; a failing `when` is recorded and counts as no match. */
  private async matching(
    candidates: readonly CompiledPipeline[],
    event: EventRecord,
    failures: RouteDecision['failures'],
  ): Promise<CompiledPipeline[]> {
    if (!candidates.some((p) => p.when)) return candidates as CompiledPipeline[];
    // Fast-path predicates answer at once; only those that need JSONata are awaited.
    let pending: Promise<void>[] | undefined;
    const verdicts = candidates.map((p, i) => {
      if (!p.when) return true;
      const fast = p.when.evaluateSync(event.body);
      if (fast !== NEEDS_JSONATA) return truthy(fast);
      (pending ??= []).push(
        p.when.evaluate(event.body).then(
          (v) => void (verdicts[i] = truthy(v)),
          (err: unknown) => {
            verdicts[i] = false;
            failures.push({ pipeline: p.info.name, error: `match.when: ${(err as Error).message}` });
          },
        ),
      );
      return false;
    });
    if (pending) await Promise.all(pending);
    return candidates.filter((_, i) => verdicts[i]);
  }
}

/** The result of `expr` for the event's body; rejects when there is none (nothing to deliver) or on an evaluation error. */
function transformed(expr: CompiledExpression, event: EventRecord): Promise<unknown> {
  const fast = expr.evaluateSync(event.body);
  if (fast !== NEEDS_JSONATA) return fast === undefined ? Promise.reject(noValue()) : Promise.resolve(fast);
  return expr.evaluate(event.body).then((result) => {
    if (result === undefined) throw noValue();
    return result;
  });
}

function noValue(): Error {
  return new Error('transform produced no value');
}
