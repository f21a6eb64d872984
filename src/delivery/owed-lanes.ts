// Which lanes owe a journaled event: the routing table's decision, or the target a dead-letter replay pinned it to.
import type { EventRecord } from '../events/record.ts';
import type { RouteDecision, RoutingTable } from '../pipelines/table.ts';
import type { DeadLetter } from '../dead-letters/store.ts';
import { laneKey } from '../pipelines/lane-key.ts';

/** Pipeline name on a match error that no single pipeline caused (the routing table itself failed). */
export const ANY_PIPELINE = '*';
/** Pinned target of a replayed event that goes through one whole pipeline again (a match error): `<pipeline>/*`. */
const PIPELINE_WILDCARD = '/*';

/**
 * Where a replayed dead letter goes, as journaled with the event: its own lane `<pipeline>/<sink>`, its pipeline
 * (`<pipeline>/*`, for match errors), or undefined to route it normally (quarantined events).
 * @example
 * replayTarget({ ...rec, pipeline: 'alerts', sink: 'slack' }); // 'alerts/slack'
 */
export function replayTarget(r: DeadLetter): string | undefined {
  if (r.reason === 'quarantined' || r.pipeline === undefined || r.pipeline === ANY_PIPELINE) return undefined;
  return r.sink === undefined ? `${r.pipeline}${PIPELINE_WILDCARD}` : laneKey(r.pipeline, r.sink);
}

/**
 * The lanes that owe `event` a delivery. Never throws: a failing table becomes a match error of `ANY_PIPELINE`.
 * @example
 * const { lanes, failures, unmatched } = await owedLanes(table, event, undefined);
 */
export async function owedLanes(
  table: RoutingTable,
  event: EventRecord,
  pinned: string | undefined,
): Promise<RouteDecision> {
  const only = pinned?.endsWith(PIPELINE_WILDCARD) ? pinned.slice(0, -1) : undefined;
  if (pinned !== undefined && only === undefined) return { lanes: [pinned], failures: [], unmatched: false };
  let d: RouteDecision;
  try {
    d = await table.route(event);
  } catch (err) {
    d = {
      lanes: [],
      failures: [{ pipeline: ANY_PIPELINE, error: String((err as Error)?.message ?? err) }],
      unmatched: false,
    };
  }
  if (only === undefined) return d;
  // A replayed match error goes back through its own pipeline only.
  const lanes = d.lanes.filter((k) => k.startsWith(only));
  return { lanes, failures: d.failures.filter((f) => `${f.pipeline}/` === only), unmatched: lanes.length === 0 };
}
