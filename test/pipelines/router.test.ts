import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventRecord } from '../../src/events/record.ts';
import { Router, type CompiledPipeline } from '../../src/pipelines/router.ts';
import { compileExpression, NEEDS_JSONATA, type CompiledExpression } from '../../src/pipelines/jsonata/transform.ts';
import type { LaneSpec } from '../../src/pipelines/table.ts';
import { laneSpec } from '../fixtures/lanes.ts';

const limits = { timeoutMs: 100 };

function lane(pipeline: string, sinkId: string): LaneSpec {
  return laneSpec(`${pipeline}/${sinkId}`, {
    type: 'stdout',
    queue: { concurrency: 1, capacity: 1 },
    fingerprint: 'f',
    source: { file: `/p/${pipeline}.yaml`, line: 1 },
  });
}

function pipeline(
  name: string,
  opts: {
    events?: string[];
    when?: string;
    transform?: string;
    sinks?: Record<string, string | undefined>;
    enabled?: boolean;
    catchAll?: boolean;
  } = {},
): CompiledPipeline {
  const sinks = opts.sinks ?? { stdout: undefined };
  const lanes = Object.entries(sinks).map(([id, t]) => ({
    spec: lane(name, id),
    ...(t ? { transform: compileExpression(t, limits) } : {}),
  }));
  return {
    info: {
      name,
      file: `/p/${name}.yaml`,
      enabled: opts.enabled ?? true,
      catchAll: opts.catchAll ?? false,
      ...(opts.events ? { events: opts.events } : {}),
      lanes: lanes.map((l) => l.spec.key),
    },
    ...(opts.when ? { when: compileExpression(opts.when, limits) } : {}),
    ...(opts.transform ? { transform: compileExpression(opts.transform, limits) } : {}),
    lanes,
  };
}

const event = (body: Record<string, unknown>): EventRecord => ({
  id: 1,
  receivedAt: 0,
  eventName: String(body.eventName),
  raw: Buffer.from(JSON.stringify(body)),
  body,
});

test('an event fans out to every matching pipeline and every sink of each', async () => {
  const table = new Router(3, [
    pipeline('all', {}),
    pipeline('bounces', { events: ['emailBounce'], sinks: { file: undefined, slack: undefined } }),
    pipeline('clicks', { events: ['emailClick'] }),
  ]);
  const d = await table.route(event({ eventName: 'emailBounce' }));
  assert.deepStrictEqual(d, { lanes: ['all/stdout', 'bounces/file', 'bounces/slack'], failures: [], unmatched: false });
  assert.equal(table.version, 3);
  assert.deepStrictEqual([...table.lanes.keys()], ['all/stdout', 'bounces/file', 'bounces/slack', 'clicks/stdout']);
});

test('a failing when in one pipeline is reported and does not affect the others', async () => {
  const table = new Router(1, [
    pipeline('broken', { when: '$error("boom")' }),
    pipeline('runaway', { when: '( $f := function($x){ $f($x) }; $f(1) )' }),
    pipeline('campaign', { when: 'dataFields.campaignId in [1, 2]' }),
    pipeline('other-campaign', { when: 'dataFields.campaignId = 3' }),
  ]);
  const d = await table.route(event({ eventName: 'emailOpen', dataFields: { campaignId: 2 } }));
  assert.deepStrictEqual(d.lanes, ['campaign/stdout']);
  assert.deepStrictEqual(d.failures.map((f) => f.pipeline).sort(), ['broken', 'runaway']);
  assert.match(d.failures.find((f) => f.pipeline === 'broken')!.error, /^match\.when: .*boom/);
  assert.equal(d.unmatched, false);
});

test('catch-all pipelines get only what nothing else matched; unmatched when nothing does', async () => {
  const table = new Router(1, [
    pipeline('leftovers', { catchAll: true }),
    pipeline('opens', { events: ['emailOpen'], when: 'dataFields.campaignId = 1' }),
  ]);
  assert.deepStrictEqual((await table.route(event({ eventName: 'emailOpen', dataFields: { campaignId: 1 } }))).lanes, [
    'opens/stdout',
  ]);
  assert.deepStrictEqual((await table.route(event({ eventName: 'emailOpen', dataFields: { campaignId: 2 } }))).lanes, [
    'leftovers/stdout',
  ]);
  assert.deepStrictEqual((await table.route(event({ eventName: 'brandNewEvent' }))).lanes, ['leftovers/stdout']);
  const none = new Router(1, [pipeline('opens', { events: ['emailOpen'] })]);
  assert.deepStrictEqual(await none.route(event({ eventName: 'emailClick' })), {
    lanes: [],
    failures: [],
    unmatched: true,
  });
});

test('disabled pipelines get no events and have no lanes, unless asked (for tests)', async () => {
  const table = new Router(1, [pipeline('off', { enabled: false })]);
  assert.equal(table.lanes.size, 0);
  assert.equal((await table.route(event({ eventName: 'x' }))).unmatched, true);
  assert.deepStrictEqual((await table.route(event({ eventName: 'x' }), { includeDisabled: true })).lanes, [
    'off/stdout',
  ]);
  assert.deepStrictEqual(await table.payload('off/stdout', event({ eventName: 'x' })), { eventName: 'x' });
});

test('payload: sink transform, else pipeline transform, else the body', async () => {
  const table = new Router(1, [
    pipeline('p', {
      transform: '{ "name": eventName }',
      sinks: { a: undefined, b: '{ "upper": $uppercase(eventName) }', c: 'nothing.here' },
    }),
    pipeline('q', {}),
  ]);
  const e = event({ eventName: 'emailOpen', email: 'u@x.com' });
  assert.deepStrictEqual(await table.payload('p/a', e), { name: 'emailOpen' });
  assert.deepStrictEqual(await table.payload('p/b', e), { upper: 'EMAILOPEN' });
  assert.equal(await table.payload('q/stdout', e), e.body);
  await assert.rejects(table.payload('p/c', e), /transform produced no value/);
  await assert.rejects(table.payload('p/zzz', e), /no lane "p\/zzz"/);
});

test('with 200 pipelines, only the candidates named by the eventName run their when', async () => {
  const table = new Router(
    1,
    Array.from({ length: 200 }, (_, i) =>
      pipeline(`p${i}`, { events: [`custom${i}`, 'shared*'], when: '$error("ran")' }),
    ),
  );
  const one = await table.route(event({ eventName: 'custom5' }));
  assert.deepStrictEqual(
    one.failures.map((f) => f.pipeline),
    ['p5'],
  );
  const none = await table.route(event({ eventName: 'emailOpen' }));
  assert.deepStrictEqual(none, { lanes: [], failures: [], unmatched: true });
  assert.equal(
    (await table.route(event({ eventName: 'sharedThing' }))).failures.length,
    200,
    'a glob shared by all still reaches all',
  );
});

/** `expr` with a count of its evaluations, fast or JSONata. */
function counted(source: string): { expr: CompiledExpression; count: () => number } {
  const inner = compileExpression(source, limits);
  let n = 0;
  const expr: CompiledExpression = {
    source,
    fast: inner.fast,
    evaluate: (input) => (n++, inner.evaluate(input)),
    evaluateSync: (input) => {
      const v = inner.evaluateSync(input);
      if (v !== NEEDS_JSONATA) n++;
      return v;
    },
  };
  return { expr, count: () => n };
}

function withTransform(p: CompiledPipeline, transform: CompiledExpression): CompiledPipeline {
  return { ...p, transform };
}

test('sinks without a transform of their own share one evaluation of the pipeline transform per event', async () => {
  for (const source of ['{ "name": eventName }', '{ "n": $count(dataFields.labels) }']) {
    const t = counted(source);
    const p = withTransform(
      pipeline('p', { sinks: { a: undefined, b: undefined, c: undefined, d: undefined, own: '{ "own": 1 }' } }),
      t.expr,
    );
    const table = new Router(1, [p]);
    const e1 = event({ eventName: 'emailOpen', dataFields: { labels: ['x'] } });
    const got = await Promise.all(['p/a', 'p/b', 'p/c', 'p/d'].map((k) => table.payload(k, e1)));
    assert.equal(t.count(), 1, `${source}: 4 sinks, 1 evaluation`);
    for (const g of got) assert.equal(g, got[0], 'the very same result');
    assert.deepStrictEqual(await table.payload('p/own', e1), { own: 1 });
    // Another event (or the same event re-read from the journal: a new record) is evaluated again.
    const e2 = event({ eventName: 'emailClick', dataFields: { labels: [] } });
    await table.payload('p/a', e2);
    await table.payload('p/b', e2);
    assert.equal(t.count(), 2);
  }
});

test('a pipeline transform with one user is not memoised, and a shared failure reaches every sink', async () => {
  const single = counted('{ "name": eventName }');
  const table = new Router(1, [
    withTransform(pipeline('one', {}), single.expr),
    pipeline('bad', { transform: 'missing.field', sinks: { a: undefined, b: undefined } }),
  ]);
  const e = event({ eventName: 'emailOpen' });
  await table.payload('one/stdout', e);
  await table.payload('one/stdout', e);
  assert.equal(single.count(), 2);
  await assert.rejects(table.payload('bad/a', e), /transform produced no value/);
  await assert.rejects(table.payload('bad/b', e), /transform produced no value/);
});
