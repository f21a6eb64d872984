import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeadLetter } from '../../src/dead-letters/store.ts';
import { owedLanes, replayTarget } from '../../src/delivery/owed-lanes.ts';
import type { EventRecord } from '../../src/events/record.ts';
import type { RouteDecision, RoutingTable } from '../../src/pipelines/table.ts';

const event: EventRecord = {
  id: 1,
  receivedAt: 0,
  eventName: 'emailSend',
  raw: Buffer.from('{}'),
  body: { eventName: 'emailSend' },
};
const tableOf = (route: () => Promise<RouteDecision>) =>
  ({ version: 1, pipelines: [], lanes: new Map(), route, payload: async () => null }) as RoutingTable;
const dl = (extra: Partial<DeadLetter>): DeadLetter => ({
  id: 'x',
  reason: 'delivery_failed',
  eventId: 1,
  eventName: 'emailSend',
  receivedAt: 0,
  event: {},
  attempts: 1,
  lastError: 'e',
  deadAt: 0,
  ...extra,
});

describe('owed lanes', () => {
  it('replays a dead letter to its lane, its pipeline, or normal routing', () => {
    assert.equal(replayTarget(dl({ pipeline: 'alerts', sink: 'slack' })), 'alerts/slack');
    assert.equal(replayTarget(dl({ reason: 'match_error', pipeline: 'alerts' })), 'alerts/*');
    assert.equal(replayTarget(dl({ reason: 'match_error', pipeline: '*' })), undefined);
    assert.equal(replayTarget(dl({ reason: 'quarantined', pipeline: 'alerts', sink: 'slack' })), undefined);
  });

  it('routes normally, pins to one lane, or narrows to one pipeline', async () => {
    const table = tableOf(async () => ({
      lanes: ['a/x', 'a/y', 'ab/z'],
      failures: [{ pipeline: 'b', error: 'boom' }],
      unmatched: false,
    }));
    assert.deepEqual((await owedLanes(table, event, undefined)).lanes, ['a/x', 'a/y', 'ab/z']);
    assert.deepEqual(await owedLanes(table, event, 'q/r'), { lanes: ['q/r'], failures: [], unmatched: false });
    assert.deepEqual(await owedLanes(table, event, 'a/*'), { lanes: ['a/x', 'a/y'], failures: [], unmatched: false });
    assert.deepEqual(await owedLanes(table, event, 'b/*'), {
      lanes: [],
      failures: [{ pipeline: 'b', error: 'boom' }],
      unmatched: true,
    });
  });

  it('turns a failing table into a match error instead of throwing', async () => {
    const d = await owedLanes(
      tableOf(async () => {
        throw new Error('table broke');
      }),
      event,
      undefined,
    );
    assert.deepEqual(d, { lanes: [], failures: [{ pipeline: '*', error: 'table broke' }], unmatched: false });
  });
});
