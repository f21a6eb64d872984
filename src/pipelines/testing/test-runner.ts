// Runs one pipeline test case against a loaded table: match and transform only, no server and no sinks.
import { MemorySeenKeys } from '../../dedupe/seen-keys.ts';
import type { EventRecord } from '../../events/record.ts';
import { differences, indentJson } from '../diff.ts';
import type { Router } from '../router.ts';
import type { LoadedCase } from './test-file.ts';
import { laneKey } from '../lane-key.ts';

/**
 * Every way `c` failed against `table` (empty: it passed). Disabled pipelines are tested as if enabled,
 * so a pipeline can be tested before it is switched on. Cases that share `seen` (the cases of one file, in order)
 * share dedupe keys: a case whose key an earlier case had is `deduplicated` for that pipeline.
 * @example
 * const seen = new MemorySeenKeys();
 * const failures = await runCase(table, c, seen, 1);
 * if (failures.length) console.log(failures.join('\n'));
 */
export async function runCase(
  table: Router,
  c: LoadedCase,
  seen = new MemorySeenKeys(),
  caseNo = 0,
): Promise<string[]> {
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
  const dedupe = await dedupeOutcome(table, event, matched, seen, caseNo);
  const failures: string[] = [];
  for (const [pipeline, expected] of Object.entries(c.expect)) {
    const info = table.pipelines.find((p) => p.name === pipeline);
    if (!info) {
      failures.push(
        `${pipeline}: no such pipeline (loaded: ${table.pipelines.map((p) => p.name).join(', ') || 'none'})`,
      );
      continue;
    }
    const error = decision.failures.find((f) => f.pipeline === pipeline)?.error ?? dedupe.errors.get(pipeline);
    if (error) {
      failures.push(`${pipeline}: ${error}`);
      continue;
    }
    const { matched: wantMatch, deduplicated: wantDuplicate, ...payloads } = expected;
    if (wantDuplicate !== undefined && typeof wantDuplicate !== 'boolean') {
      failures.push(`${pipeline}: \`deduplicated\` must be true or false`);
      continue;
    }
    const duplicate = dedupe.duplicates.has(pipeline);
    if (wantDuplicate !== undefined && wantDuplicate !== duplicate) {
      failures.push(
        wantDuplicate
          ? `${pipeline}: expected the event to be deduplicated, but its key was not seen in an earlier case of this file${info.dedupe ? '' : ' (the pipeline has no `dedupe`)'}`
          : `${pipeline}: expected the event to be delivered, but it was deduplicated (its key was seen in an earlier case of this file)`,
      );
      continue;
    }
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
    if (duplicate) {
      if (Object.keys(payloads).length > 0)
        failures.push(
          `${pipeline}: payloads expected, but the event was deduplicated (its key was seen in an earlier case of this file)`,
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

/** Which matched pipelines see the event as a copy of an earlier case's (or fail to compute its key). */
async function dedupeOutcome(
  table: Router,
  event: EventRecord,
  matched: Set<string>,
  seen: MemorySeenKeys,
  caseNo: number,
): Promise<{ duplicates: Set<string>; errors: Map<string, string> }> {
  const duplicates = new Set<string>();
  const errors = new Map<string, string>();
  for (const pipeline of matched) {
    const rule = table.dedupe(pipeline);
    if (!rule) continue;
    try {
      const hash = await rule.keyHash(event.body);
      if (seen.firstEvent(pipeline, hash, event.receivedAt) !== undefined) duplicates.add(pipeline);
      else
        seen.remember(
          { pipeline, hash, eventId: caseNo, expiresAt: event.receivedAt + rule.windowMs },
          rule.maxKeys,
          event.receivedAt,
        );
    } catch (err) {
      const message = (err as Error).message;
      errors.set(pipeline, message.startsWith('dedupe.key') ? message : `dedupe.key: ${message}`);
    }
  }
  return { duplicates, errors };
}
