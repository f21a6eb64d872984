// Lane keys `<pipeline>/<sinkId>`: the one place that builds and parses them (pipeline names may contain `/`, sink ids do not).

/**
 * The key of one sink of one pipeline; stable across reloads while both names stay.
 * @example
 * laneKey('bounces', 'slack'); // 'bounces/slack'
 */
export function laneKey(pipeline: string, sinkId: string): string {
  return `${pipeline}/${sinkId}`;
}

/**
 * Split a lane key back into its pipeline and sink id.
 * @example
 * splitLaneKey('team/bounces/slack'); // { pipeline: 'team/bounces', sink: 'slack' }
 */
export function splitLaneKey(key: string): { pipeline: string; sink: string } {
  const i = key.lastIndexOf('/');
  return i < 0 ? { pipeline: key, sink: '' } : { pipeline: key.slice(0, i), sink: key.slice(i + 1) };
}
