// The dedupe step of routing: a pipeline with `dedupe` on drops an event whose key it saw within the window.
import type { Metrics } from '../admin/metrics.ts';
import type { Logger } from '../log.ts';
import { dedupeLimits, type DedupeRule } from '../pipelines/dedupe.ts';
import { splitLaneKey } from '../pipelines/lane-key.ts';
import type { RouteDecision, RoutingTable } from '../pipelines/table.ts';
import { MemorySeenKeys } from '../dedupe/seen-keys.ts';
import type { SeenKey, SeenKeyStore } from '../storage/seen-keys.ts';
import type { Routable } from './routing-pump.ts';

export interface DedupeStepDeps {
  /** The storage driver's seen keys; without one, keys live in memory only (a warning says so). */
  seen: SeenKeyStore | undefined;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Applied to routing decisions before they are recorded: a duplicate's lanes of that pipeline are removed, a failing
 * key expression becomes a failure (dead-lettered with stage `dedupe`), and each first copy's key is remembered and
 * returned so the driver stores it with the routing decision. Replayed dead letters (pinned) are neither checked nor
 * remembered: a replay is delivered even when its key was seen.
 * @example
 * const seen = await step.apply(table, items, decisions); // seen[i]: keys to record with item i's routing
 */
export class DedupeStep {
  private readonly seen: SeenKeyStore;
  private readonly counts = new Map<string, number>();
  private readonly evicted = new Map<string, number>();
  private table: RoutingTable | undefined;
  private warned = false;

  constructor(private readonly deps: DedupeStepDeps) {
    this.seen = deps.seen ?? new MemorySeenKeys();
  }

  /** Since start: events this pipeline did not deliver again; now: keys it holds, and keys forgotten early. */
  stats(pipeline: string): { deduplicated: number; keys: number; evicted: number } {
    return { deduplicated: this.counts.get(pipeline) ?? 0, ...this.seen.stats(pipeline) };
  }

  async apply(
    table: RoutingTable,
    items: readonly Routable[],
    decisions: RouteDecision[],
  ): Promise<(SeenKey[] | undefined)[]> {
    const out: (SeenKey[] | undefined)[] = new Array(items.length);
    if (!table.dedupe) return out;
    if (table !== this.table) this.tableChanged(table);
    const checks: { i: number; pipeline: string; rule: DedupeRule; hash: ReturnType<DedupeRule['keyHash']> }[] = [];
    items.forEach((it, i) => {
      if (it.pinned !== undefined) return;
      for (const pipeline of pipelinesOf(decisions[i]!.lanes)) {
        const rule = table.dedupe!(pipeline);
        if (rule) checks.push({ i, pipeline, rule, hash: rule.keyHash(it.rec.body) });
      }
    });
    if (checks.length === 0) return out;
    const hashes = await Promise.allSettled(checks.map((c) => c.hash));
    const touched = new Set<string>();
    // In arrival order, so of two copies in one batch the first is delivered.
    checks.forEach(({ i, pipeline, rule }, n) => {
      const { rec } = items[i]!;
      const d = decisions[i]!;
      const h = hashes[n]!;
      if (h.status === 'rejected') {
        d.lanes = d.lanes.filter((k) => splitLaneKey(k).pipeline !== pipeline);
        const message = String((h.reason as Error)?.message ?? h.reason);
        d.failures.push({
          pipeline,
          error: message.startsWith('dedupe.key') ? message : `dedupe.key: ${message}`,
          stage: 'dedupe',
        });
        return;
      }
      touched.add(pipeline);
      const first = this.seen.firstEvent(pipeline, h.value, rec.receivedAt);
      if (first !== undefined && first !== rec.id) {
        d.lanes = d.lanes.filter((k) => splitLaneKey(k).pipeline !== pipeline);
        this.counts.set(pipeline, (this.counts.get(pipeline) ?? 0) + 1);
        this.deps.metrics.eventsDeduplicated.inc({ pipeline });
        this.deps.logger.debug(
          { pipeline, eventId: rec.id, eventName: rec.eventName, firstEventId: first },
          'dedupe: duplicate not delivered',
        );
        return;
      }
      // A first copy, or the first copy routed again after a crash: its key goes with its routing either way.
      const key: SeenKey = { pipeline, hash: h.value, eventId: rec.id, expiresAt: rec.receivedAt + rule.windowMs };
      if (first === undefined) this.seen.remember(key, rule.maxKeys, rec.receivedAt);
      (out[i] ??= []).push(key);
    });
    for (const pipeline of touched) this.report(pipeline);
    return out;
  }

  /** A new table: keep memory for its deduped pipelines only, at their `maxKeys`. */
  private tableChanged(table: RoutingTable): void {
    this.table = table;
    const limits = dedupeLimits(table.pipelines);
    this.seen.retain(limits);
    if (limits.size > 0 && !this.deps.seen && !this.warned) {
      this.warned = true;
      this.deps.logger.warn('dedupe: this storage driver keeps no seen keys; they last until the daemon stops');
    }
  }

  private report(pipeline: string): void {
    const { keys, evicted } = this.seen.stats(pipeline);
    this.deps.metrics.dedupeKeys.set({ pipeline }, keys);
    const before = this.evicted.get(pipeline) ?? 0;
    if (evicted > before) this.deps.metrics.dedupeEvicted.inc({ pipeline }, evicted - before);
    this.evicted.set(pipeline, evicted);
  }
}

/** The pipelines of a decision's lanes, once each (a pipeline's lanes are adjacent). */
function pipelinesOf(lanes: readonly string[]): string[] {
  const out: string[] = [];
  for (const key of lanes) {
    const p = splitLaneKey(key).pipeline;
    if (out.at(-1) !== p) out.push(p);
  }
  return out;
}
