import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileExpression, ExpressionError, truthy } from '../../../src/pipelines/jsonata/transform.ts';

const limits = { timeoutMs: 200 };
const click = {
  email: 'u@x.com',
  eventName: 'emailClick',
  dataFields: {
    campaignId: 59667,
    messageId: 'd0aa',
    createdAt: '2016-12-02 20:31:39 +00:00',
    linkId: '314',
    labels: ['a', 'b'],
  },
};

test('an object transform with the bound functions', async () => {
  const expr = compileExpression(
    '{ "to": email, "at": $iterableDate(dataFields.createdAt), "h": $hash({"b": 1, "a": 2}), "key": $dedupeKey(), "key2": $dedupeKey($) }',
    limits,
  );
  const out = (await expr.evaluate(click)) as Record<string, string>;
  assert.equal(out.to, 'u@x.com');
  assert.equal(out.at, '2016-12-02T20:31:39.000Z');
  assert.match(out.h!, /^[0-9a-f]{64}$/);
  assert.match(out.key!, /^[0-9a-f]{64}$/);
  assert.equal(out.key, out.key2);
});

test('results are plain JSON: JSONata sequences become ordinary arrays', async () => {
  const out = await compileExpression('dataFields.labels.($ & "!")', limits).evaluate(click);
  assert.deepStrictEqual(out, ['a!', 'b!']);
});

test('fast paths agree with JSONata', async () => {
  const body = { a: { b: { c: 1 } }, list: [1, 2], e: { arr: [{ x: 1 }, { x: 2 }] } };
  assert.equal(await compileExpression('$', limits).evaluate(body), body);
  assert.equal(await compileExpression('a.b.c', limits).evaluate(body), 1);
  assert.equal(await compileExpression('a.missing.c', limits).evaluate(body), undefined);
  assert.deepStrictEqual(await compileExpression('list', limits).evaluate(body), [1, 2]);
  // Through an array JSONata maps over the items: the fast path hands over to JSONata.
  assert.deepStrictEqual(await compileExpression('e.arr.x', limits).evaluate(body), [1, 2]);
  assert.equal(await compileExpression('true', limits).evaluate(body), true);
});

test('a syntax error throws an ExpressionError with the offset of the bad token', () => {
  assert.throws(
    () => compileExpression('a.b + (', limits),
    (err: unknown) => err instanceof ExpressionError && err.code === 'S0203' && err.position === 6,
  );
});

test('an infinite loop ends with a timeout error, and the event loop keeps running meanwhile', async () => {
  const expr = compileExpression('( $f := function($x){ $f($x) }; $f(1) )', { timeoutMs: 400 });
  let timerRan = false;
  // An immediate callback is event-loop work like an I/O callback: it only runs if the evaluation hands the loop a turn.
  setImmediate(() => (timerRan = true));
  let timerRanBeforeTheEnd = false;
  await assert.rejects(
    expr.evaluate({}).finally(() => (timerRanBeforeTheEnd = timerRan)),
    (err: unknown) => err instanceof ExpressionError && err.code === 'D1012' && /timeout/i.test(err.message),
  );
  assert.ok(timerRanBeforeTheEnd, 'the event loop ran a callback while the runaway expression was evaluated');
});

test('deep recursion ends with a stack error', async () => {
  const expr = compileExpression('( $f := function($x){ 1 + $f($x) }; $f(1) )', { timeoutMs: 5000, maxDepth: 200 });
  await assert.rejects(expr.evaluate({}), (err: unknown) => err instanceof ExpressionError && err.code === 'D1011');
});

test('huge ranges are refused', async () => {
  const expr = compileExpression('$count([1..5000000])', { timeoutMs: 5000, maxSequence: 1000 });
  await assert.rejects(expr.evaluate({}), ExpressionError);
});

test('a runaway evaluation does not disturb a concurrent one of the same expression', async () => {
  const expr = compileExpression('x = 1 ? 1 : ( $f := function($x){ $f($x) }; $f(1) )', { timeoutMs: 300 });
  const [slow, fast] = await Promise.allSettled([expr.evaluate({ x: 2 }), expr.evaluate({ x: 1 })]);
  assert.equal(slow.status, 'rejected');
  assert.deepStrictEqual(fast, { status: 'fulfilled', value: 1 });
});

test('truthy follows JSONata $boolean', () => {
  for (const v of [true, 1, 'x', [0, 1], { a: 1 }]) assert.equal(truthy(v), true, JSON.stringify(v));
  for (const v of [false, 0, '', [], [0, ''], {}, null, undefined]) assert.equal(truthy(v), false, JSON.stringify(v));
});
