// The dead-letter records the delivery engine itself writes: quarantined events, match errors, removed lanes.
import type { EventRecord, IncomingEvent } from '../events/record.ts';
import type { RoutingTable } from '../pipelines/table.ts';
import { newDeadLetterId, type DeadLetter } from './store.ts';
import { splitLaneKey } from '../pipelines/lane-key.ts';

/** An invalid event: the dead-letter queue is where it is stored, with its schema errors. */
export function quarantinedRecord(event: IncomingEvent, eventId: number, now = Date.now()): DeadLetter {
  const issues = event.invalid ?? [];
  return {
    id: newDeadLetterId(now),
    reason: 'quarantined',
    eventId,
    eventName: event.eventName,
    receivedAt: event.receivedAt,
    event: event.body,
    attempts: 0,
    lastError: issues
      .map((i) => `${i.path || '/'}: ${i.message}`)
      .join('; ')
      .slice(0, 2000),
    deadAt: now,
    issues,
  };
}

/** A pipeline's `when` failed for this event. */
export function matchErrorRecord(event: EventRecord, pipeline: string, error: string, now = Date.now()): DeadLetter {
  return {
    id: newDeadLetterId(now),
    reason: 'match_error',
    eventId: event.id,
    eventName: event.eventName,
    receivedAt: event.receivedAt,
    event: event.body,
    pipeline,
    attempts: 0,
    lastError: error,
    deadAt: now,
  };
}

/** A delivery owed to a lane that the current config no longer has: `sink_removed` if its pipeline is still there. */
export function removedLaneRecord(
  event: EventRecord,
  laneKey: string,
  table: RoutingTable,
  now = Date.now(),
): DeadLetter {
  const { pipeline, sink } = splitLaneKey(laneKey);
  const pipelineLives = table.pipelines.some((p) => p.name === pipeline && p.enabled);
  return {
    id: newDeadLetterId(now),
    reason: pipelineLives ? 'sink_removed' : 'pipeline_removed',
    eventId: event.id,
    eventName: event.eventName,
    receivedAt: event.receivedAt,
    event: event.body,
    pipeline,
    sink,
    attempts: 0,
    lastError: pipelineLives
      ? `sink "${sink}" was removed from pipeline "${pipeline}"`
      : `pipeline "${pipeline}" was removed or disabled`,
    deadAt: now,
  };
}
