// The routing pump: events that became durable are routed in arrival order, batch by batch, and offered to their lanes.
import type { Metrics } from '../admin/metrics.ts';
import type { EventRecord } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { RoutingTable } from '../pipelines/table.ts';
import type { DeadLetter } from '../dead-letters/store.ts';
import { matchErrorRecord } from '../dead-letters/records.ts';
import type { EventStore } from '../storage/event-store.ts';
import { splitLaneKey } from '../pipelines/lane-key.ts';
import { DedupeStep } from './dedupe-step.ts';
import { owedLanes } from './owed-lanes.ts';

/** An event to route: `pinned` for a replayed dead letter, `durable` while its write is still in flight. */
export interface Routable {
  rec: EventRecord;
  pinned?: string | undefined;
  durable?: Promise<void>;
}

export interface RoutingPumpDeps {
  store: EventStore;
  table: () => RoutingTable;
  /** Store and count a dead letter (a match error, with the pipeline error behind it); rejects if it could not be stored. */
  deadLetter: (rec: DeadLetter, error: { pipeline: string; stage: string }) => Promise<void>;
  /** Hand a routed event to one lane. */
  offer: (key: string, rec: EventRecord) => void;
  /** After a batch is routed, with the lanes it touched (for gauges). */
  routed: (lanes: Set<string>) => void;
  metrics: Metrics;
  logger: Logger;
}

/** Events routed at once. */
const ROUTE_BATCH = 1024;

/**
 * Routing happens after the durable write and off the request path: an event is journaled, answered, then routed.
 * @example
 * const pump = new RoutingPump({ store, table, deadLetter, offer, routed, metrics, logger });
 * pump.push({ rec, durable });
 * pump.resume(); // nothing is routed before the engine resumed the owed backlog
 */
export class RoutingPump {
  private readonly queue: Routable[] = [];
  private running: Promise<void> | undefined;
  private active = false;
  private stopped = false;
  /** Highest id whose routing is applied to the owed index: refills and sweeps never read past it. */
  private applied: number;
  readonly dedupe: DedupeStep;

  constructor(private readonly deps: RoutingPumpDeps) {
    this.applied = deps.store.recoveredHead;
    this.dedupe = new DedupeStep({ seen: deps.store.seen, metrics: deps.metrics, logger: deps.logger });
  }

  get head(): number {
    return this.applied;
  }

  push(item: Routable): void {
    this.queue.push(item);
  }

  /** Start routing (after recovery). */
  resume(): void {
    this.active = true;
    this.pump();
  }

  /** Route what is queued, one batch at a time; a batch waits for its writes, and an event whose write failed is dropped. */
  pump(): void {
    if (this.running || !this.active || this.stopped || this.queue.length === 0) return;
    this.running = (async () => {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, ROUTE_BATCH);
        const written = await Promise.allSettled(batch.map((b) => b.durable));
        await this.route(
          batch.filter((_, i) => written[i]!.status === 'fulfilled'),
          true,
        );
      }
    })()
      .catch((err) => this.deps.logger.error({ err }, 'delivery: routing failed'))
      .finally(() => {
        this.running = undefined;
        this.pump();
      });
  }

  /**
   * Route `items` with the current table: match, count, drop dedupe duplicates, dead-letter match and key errors, then
   * record the routing (with the first copies' dedupe keys) and offer the events to their lanes.
   */
  async route(items: Routable[], offer: boolean): Promise<void> {
    if (items.length === 0) return;
    const table = this.deps.table();
    let decisions = await Promise.all(items.map((it) => owedLanes(table, it.rec, it.pinned)));
    // Duplicates lose their lanes here; a key expression that fails becomes a failure of its pipeline.
    let seen = await this.dedupe.apply(table, items, decisions);
    // An event whose match error could not be dead-lettered stays unrouted: the next start routes it (and stores the
    // dead letter) again, rather than the routing being recorded without it.
    const stored = await Promise.all(items.map((it, i) => this.storeMatchErrors(it.rec, decisions[i]!.failures)));
    items = items.filter((_, i) => stored[i]);
    decisions = decisions.filter((_, i) => stored[i]);
    seen = seen.filter((_, i) => stored[i]);
    const entries = items.map((it, i) => ({
      id: it.rec.id,
      lanes: decisions[i]!.lanes,
      ...(seen[i] ? { seen: seen[i] } : {}),
    }));
    for (let i = 0; i < items.length; i++) {
      const d = decisions[i]!;
      if (d.unmatched && d.lanes.length === 0) this.deps.metrics.eventsUnmatched.inc();
      else if (items[i]!.pinned === undefined) this.countMatches(d.lanes);
      this.applied = Math.max(this.applied, items[i]!.rec.id);
    }
    this.deps.store.routed(entries);
    if (offer)
      for (let i = 0; i < items.length; i++) for (const key of decisions[i]!.lanes) this.deps.offer(key, items[i]!.rec);
    this.deps.routed(new Set(decisions.flatMap((d) => d.lanes)));
  }

  private async storeMatchErrors(
    rec: EventRecord,
    failures: { pipeline: string; error: string; stage?: string }[],
  ): Promise<boolean> {
    try {
      for (const f of failures)
        await this.deps.deadLetter(matchErrorRecord(rec, f.pipeline, f.error), {
          pipeline: f.pipeline,
          stage: f.stage ?? 'match',
        });
      return true;
    } catch (err) {
      this.deps.logger.error({ err }, 'delivery: could not dead-letter a match error; the event stays unrouted');
      return false;
    }
  }

  /** One match per pipeline that wants the event (a replayed dead letter is not a new match). */
  private countMatches(lanes: string[]): void {
    let last: string | undefined;
    for (const key of lanes) {
      const pipeline = splitLaneKey(key).pipeline;
      if (pipeline === last) continue; // a pipeline's lanes are adjacent in a decision
      last = pipeline;
      this.deps.metrics.pipelineMatches.inc({ pipeline });
    }
  }

  /** Stop taking new batches; resolves when the one running has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }
}
