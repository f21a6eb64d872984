// Differential test: the synchronous fast path gives exactly JSONata's result, for every expression × input pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import jsonata from 'jsonata';
import { compileFastPath } from '../../../src/pipelines/jsonata/fast-path.ts';
import {
  compileExpression,
  compileJsonata,
  ExpressionError,
  NEEDS_JSONATA,
} from '../../../src/pipelines/jsonata/transform.ts';
import {
  AWKWARD_INPUTS,
  BENCH_EXPRESSIONS,
  SAMPLE_INPUTS,
  SHIPPED_EXPRESSIONS,
  SUBSET_EXPRESSIONS,
  UNSUPPORTED_EXPRESSIONS,
} from '../../fixtures/fast-path-cases.ts';

const limits = { timeoutMs: 2000 };

type Outcome = { value: unknown } | { error: string | undefined };

async function settle(p: Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await p };
  } catch (err) {
    assert.ok(err instanceof ExpressionError, String(err));
    return { error: err.code };
  }
}

/** Compares every input's fast result with JSONata's; returns how many inputs the fast path answered itself. */
async function differential(source: string, inputs: readonly unknown[]): Promise<number> {
  const expr = compileExpression(source, limits);
  const reference = compileJsonata(source, limits);
  let fast = 0;
  for (const input of inputs) {
    const what = `${source}  ←  ${JSON.stringify(input)}`;
    const want = await settle(reference.evaluate(input));
    const sync = expr.evaluateSync(input);
    if (sync !== NEEDS_JSONATA) {
      fast++;
      assert.ok('value' in want, `fast path answered where JSONata fails (${JSON.stringify(want)}): ${what}`);
      assert.deepStrictEqual(sync, want.value, what);
    }
    assert.deepStrictEqual(await settle(expr.evaluate(input)), want, what);
  }
  return fast;
}

test('the case tables hold what the test claims', () => {
  assert.ok(SHIPPED_EXPRESSIONS.length >= 4, 'shipped pipelines have expressions');
  assert.ok(BENCH_EXPRESSIONS.length >= 6, 'bench pipelines have expressions');
  assert.ok(SUBSET_EXPRESSIONS.length + SHIPPED_EXPRESSIONS.length + BENCH_EXPRESSIONS.length >= 60);
  assert.ok(SAMPLE_INPUTS.length >= 60);
});

test('every shipped and bench expression compiles to the fast path and agrees with JSONata on every input', async () => {
  for (const source of [...SHIPPED_EXPRESSIONS, ...BENCH_EXPRESSIONS]) {
    assert.equal(compileExpression(source, limits).fast, true, `not compiled: ${source}`);
    await differential(source, AWKWARD_INPUTS);
    // Realistic events never need JSONata for these: the fast path is what the daemon runs.
    assert.equal(
      await differential(source, SAMPLE_INPUTS),
      SAMPLE_INPUTS.length,
      `a sample event needed JSONata: ${source}`,
    );
  }
});

test('every expression of the subset table compiles and agrees with JSONata on realistic and awkward inputs', async () => {
  let answered = 0;
  let total = 0;
  for (const source of SUBSET_EXPRESSIONS) {
    assert.equal(compileExpression(source, limits).fast, true, `not compiled: ${source}`);
    answered += await differential(source, [...SAMPLE_INPUTS, ...AWKWARD_INPUTS]);
    total += SAMPLE_INPUTS.length + AWKWARD_INPUTS.length;
  }
  // The table is meant to exercise the fast path, not only its hand-over to JSONata.
  assert.ok(answered > total * 0.8, `fast path answered ${answered} of ${total}`);
});

test('expressions outside the subset report themselves as not compiled, and still evaluate in JSONata', async () => {
  for (const source of UNSUPPORTED_EXPRESSIONS) {
    const expr = compileExpression(source, limits);
    assert.equal(expr.fast, false, `compiled: ${source}`);
    assert.equal(expr.evaluateSync(SAMPLE_INPUTS[0]), NEEDS_JSONATA, source);
    await settle(expr.evaluate(SAMPLE_INPUTS[0])); // a value or an ExpressionError, from JSONata
  }
});

test('an expression nested deeper than the depth limit is left to JSONata, which refuses it', async () => {
  const source = `${'('.repeat(30)}email${')'.repeat(30)}`;
  assert.equal(compileExpression(source, limits).fast, true);
  const shallow = compileExpression(source, { ...limits, maxDepth: 20 });
  assert.equal(shallow.fast, false);
  await assert.rejects(shallow.evaluate({ email: 'u@x.com' }), ExpressionError);
});

test('an array constructor longer than the sequence limit is left to JSONata', async () => {
  const expr = compileExpression('[1, 2, 3, 4]', { ...limits, maxSequence: 3 });
  assert.equal(expr.fast, false);
  await assert.rejects(expr.evaluate({}), ExpressionError);
});

test('an array met on a path hands that one evaluation to JSONata, whose mapping semantics apply', async () => {
  const expr = compileExpression('dataFields.items.sku', limits);
  assert.equal(expr.fast, true);
  const input = { dataFields: { items: [{ sku: 'a' }, { sku: 'b' }] } };
  assert.equal(expr.evaluateSync(input), NEEDS_JSONATA);
  assert.deepStrictEqual(await expr.evaluate(input), ['a', 'b']);
  assert.equal(expr.evaluateSync({ dataFields: { items: { sku: 'c' } } }), 'c');
});

test('results share the input objects they select (read only), as the delivery payload contract says', () => {
  const body = { dataFields: { campaignId: 1 } };
  assert.equal(compileExpression('$', limits).evaluateSync(body), body);
  assert.equal(compileExpression('dataFields', limits).evaluateSync(body), body.dataFields);
});

test('compileFastPath refuses an AST node it does not know', () => {
  const ast = jsonata('email').ast() as unknown as { steps: Record<string, unknown>[] };
  ast.steps[0]!.stages = [{ type: 'filter' }];
  assert.equal(compileFastPath(ast, { maxDepth: 500, maxSequence: 1000 }), undefined);
  assert.equal(compileFastPath({ type: 'somethingNew' }, { maxDepth: 500, maxSequence: 1000 }), undefined);
});
