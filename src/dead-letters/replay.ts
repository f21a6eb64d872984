// Offline dead-letter replay (the daemon is stopped): each record goes through a Lane for its (pipeline, sink), same retry policy.
import type { Metrics } from '../admin/metrics.ts';
import type { EventRecord } from '../events/record.ts';
import type { Logger } from '../log.ts';
import type { LaneSpec, RoutingTable } from '../pipelines/table.ts';
import type { SinkInstance } from '../sinks/define.ts';
import { newDeadLetterId, type DeadLetter, type DeadLetterFilter, type DeadLetterStore } from './store.ts';
import { Lane } from '../delivery/lane.ts';
import { laneKey } from '../pipelines/lane-key.ts';

export interface ReplayDeps {
  store: DeadLetterStore;
  filter?: { pipeline?: string; sink?: string };
  /** The pipelines as they are now: lanes by key, pipeline names, payload per lane. */
  table: Pick<RoutingTable, 'lanes' | 'pipelines' | 'payload'>;
  /** Create the sink of one lane (the caller knows the sink types and the config folder). */
  createSink: (spec: LaneSpec) => Promise<SinkInstance>;
  metrics: Metrics;
  logger: Logger;
  /** Records taken (and kept in memory) at a time. */
  batchSize?: number;
  random?: () => number;
  attemptTimeoutMs?: number;
}

export interface ReplayResult {
  /** Records taken for replay (each one attempted, or kept because its lane is gone). */
  replayed: number;
  delivered: number;
  /** Failed again: back in the queue with the new attempts and error. */
  failed: number;
  /** Their pipeline or sink no longer exists: back in the queue with that reason. */
  missing: number;
  /** Records without a sink (quarantined, match errors): they need routing, which only the running daemon does. */
  skipped: number;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The record that goes back into the queue when a replay fails again: the history adds up, the id is new. */
function failedAgain(orig: DeadLetter, latest: DeadLetter): DeadLetter {
  const rec: DeadLetter = { ...latest, id: newDeadLetterId(), attempts: orig.attempts + latest.attempts };
  const first = orig.firstAttemptAt ?? latest.firstAttemptAt;
  if (first !== undefined) rec.firstAttemptAt = first;
  if (rec.payload === undefined && orig.payload !== undefined) rec.payload = orig.payload;
  if (latest.attempts === 0 && orig.status !== undefined && rec.status === undefined) rec.status = orig.status;
  return rec;
}

function toEvent(rec: DeadLetter): EventRecord {
  return {
    id: rec.eventId,
    receivedAt: rec.receivedAt,
    eventName: rec.eventName,
    raw: Buffer.from(JSON.stringify(rec.event)),
    body: rec.event,
  };
}

/** Drives one lane for the replay: pushes while it has room, resolves when every pushed record has settled. */
class ReplayLane {
  private pending = 0;
  private waiters: (() => void)[] = [];
  readonly lane: Lane;

  constructor(
    spec: LaneSpec,
    sink: SinkInstance,
    deps: ReplayDeps,
    originals: Map<object, DeadLetter>,
    out: ReplayResult,
    appended: Set<string>,
  ) {
    this.lane = new Lane({
      spec,
      sink,
      payload: (e) => deps.table.payload(spec.key, e),
      deadLetters: {
        append: async (latest) => {
          const orig = originals.get(latest.event);
          const rec = orig ? failedAgain(orig, latest) : latest;
          appended.add(rec.id);
          await deps.store.append(rec);
        },
      },
      metrics: deps.metrics,
      logger: deps.logger,
      onSettled: (event, result) => {
        originals.delete(event.body);
        if (result === 'delivered') out.delivered++;
        else out.failed++;
        this.pending--;
        this.wake();
      },
      ...(deps.random ? { random: deps.random } : {}),
      ...(deps.attemptTimeoutMs ? { attemptTimeoutMs: deps.attemptTimeoutMs } : {}),
    });
  }

  async push(event: EventRecord): Promise<void> {
    while (!this.lane.hasRoom) await new Promise<void>((r) => this.waiters.push(r));
    this.pending++;
    this.lane.push(event);
  }

  async settled(): Promise<void> {
    while (this.pending > 0) await new Promise<void>((r) => this.waiters.push(r));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/**
 * Replay dead letters while the daemon is stopped. Delivered records leave the queue; records that fail again go back
 * with their new attempts and error; records whose pipeline or sink is gone go back with `pipeline_removed` /
 * `sink_removed`. Records stay on disk until their batch has settled, so an interrupted replay loses nothing.
 * @example
 * const result = await replayOffline({ store, table, createSink, metrics, logger, filter: { pipeline: 'bounces' } });
 * console.log(`${result.delivered} delivered, ${result.failed} failed again`);
 */
export async function replayOffline(deps: ReplayDeps): Promise<ReplayResult> {
  const out: ReplayResult = { replayed: 0, delivered: 0, failed: 0, missing: 0, skipped: 0 };
  const filter: DeadLetterFilter = { ...deps.filter };
  const appended = new Set<string>(); // written during this run: never taken again by it
  const lanes = new Map<string, ReplayLane>();
  const broken = new Map<string, string>(); // lane key -> why its sink could not start
  const originals = new Map<object, DeadLetter>();
  const laneOf = async (spec: LaneSpec): Promise<ReplayLane | undefined> => {
    const known = lanes.get(spec.key);
    if (known || broken.has(spec.key)) return known;
    try {
      const lane = new ReplayLane(spec, await deps.createSink(spec), deps, originals, out, appended);
      lanes.set(spec.key, lane);
      return lane;
    } catch (err) {
      broken.set(spec.key, `sink could not start: ${message(err)}`);
      return undefined;
    }
  };

  for await (const rec of deps.store.list(filter))
    if (rec.pipeline === undefined || rec.sink === undefined) out.skipped++;
  try {
    for (;;) {
      const batch = await deps.store.take(filter, {
        limit: deps.batchSize ?? 500,
        where: (r) => r.pipeline !== undefined && r.sink !== undefined && !appended.has(r.id),
      });
      if (batch.records.length === 0) {
        batch.release();
        break;
      }
      const used = new Set<ReplayLane>();
      for (const rec of batch.records) {
        out.replayed++;
        const key = laneKey(rec.pipeline ?? '', rec.sink ?? '');
        const spec = deps.table.lanes.get(key);
        if (!spec) {
          out.missing++;
          const pipelineLives = deps.table.pipelines.some((p) => p.name === rec.pipeline && p.enabled);
          const kept: DeadLetter = {
            ...rec,
            id: newDeadLetterId(),
            reason: pipelineLives ? 'sink_removed' : 'pipeline_removed',
            lastError: pipelineLives
              ? `sink "${rec.sink}" no longer exists in pipeline "${rec.pipeline}"`
              : `pipeline "${rec.pipeline}" no longer exists or is disabled`,
          };
          appended.add(kept.id);
          await deps.store.append(kept);
          continue;
        }
        const lane = await laneOf(spec);
        if (!lane) {
          out.failed++;
          const kept: DeadLetter = {
            ...rec,
            id: newDeadLetterId(),
            lastError: broken.get(key) ?? 'sink could not start',
          };
          appended.add(kept.id);
          await deps.store.append(kept);
          continue;
        }
        originals.set(rec.event, rec);
        used.add(lane);
        await lane.push(toEvent(rec));
      }
      for (const lane of used) await lane.settled();
      await batch.commit();
    }
  } finally {
    for (const lane of lanes.values()) await lane.lane.close();
  }
  return out;
}
