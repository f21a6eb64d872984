// Runs one pipeline test case against a loaded table: match and transform only, no server and no sinks.
import type { EventRecord } from '../../events/record.ts';
import { differences, indentJson } from '../diff.ts';
import type { Router } from '../router.ts';
import type { LoadedCase } from './test-file.ts';
import { laneKey } from '../lane-key.ts';

/**
 * Every way `c` failed against `table` (empty: it passed). Disabled pipelines are tested as if enabled,
 * so a pipeline can be tested before it is switched on.
 * @example
 * const failures = await runCase(table, c);
 * if (failures.length) console.log(failures.join('\n'));
 */
export async function runCase(table: Router, c: LoadedCase): Promise<string[]> {
  if (!c.event) return [c.eventError ?? 'no event'];
  const event: EventRecord = {
    id: 0,
    receivedAt: Date.now(),
    eventName: c.event.eventName as string,
    raw: Buffer.from(JSON.stringify(c.event)),
    body: c.event,
  };
  const decision = await table.route(event, { includeDisabled: true });
  const matched = new Set(decision.lanes.map((key) => key.slice(0, key.indexOf('/'))));
  const failures: string[] = [];
  for (const [pipeline, expected] of Object.entries(c.expect)) {
    const info = table.pipelines.find((p) => p.name === pipeline);
    if (!info) {
      failures.push(
        `${pipeline}: no such pipeline (loaded: ${table.pipelines.map((p) => p.name).join(', ') || 'none'})`,
      );
      continue;
    }
    const error = decision.failures.find((f) => f.pipeline === pipeline);
    if (error) {
      failures.push(`${pipeline}: ${error.error}`);
      continue;
    }
    const { matched: wantMatch, ...payloads } = expected;
    const shouldMatch = wantMatch === undefined ? true : wantMatch;
    if (typeof shouldMatch !== 'boolean') {
      failures.push(`${pipeline}: \`matched\` must be true or false`);
      continue;
    }
    if (matched.has(pipeline) !== shouldMatch) {
      failures.push(
        `${pipeline}: expected the event to ${shouldMatch ? '' : 'not '}match, but it did${shouldMatch ? ' not' : ''}`,
      );
      continue;
    }
    for (const [sinkId, want] of Object.entries(payloads)) {
      const key = laneKey(pipeline, sinkId);
      if (!info.lanes.includes(key)) {
        failures.push(
          `${key}: no such sink (sinks: ${info.lanes.map((l) => l.slice(pipeline.length + 1)).join(', ')})`,
        );
        continue;
      }
      let got: unknown;
      try {
        got = await table.payload(key, event);
      } catch (err) {
        failures.push(`${key}: ${(err as Error).message}`);
        continue;
      }
      const diff = differences(want, got);
      if (diff.length) {
        failures.push(
          `${key}: payload differs at ${diff.join(', ')}\n    expected:\n${indentJson(want, '      ')}\n    actual:\n${indentJson(got, '      ')}`,
        );
      }
    }
  }
  return failures;
}
